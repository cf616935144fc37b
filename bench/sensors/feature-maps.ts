/**
 * Writes feature-map PNGs of a trained sensor classifier for one test print
 * per sensor, for docs and quick inspection.
 *
 *   npx tsx bench/sensors/feature-maps.ts --model models/sensor-deep/<hash>/ \
 *     --manifest prepared/<hash>/manifest.json --out /tmp/feature-maps
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command } from 'commander';
import { loadEnvironment } from '../../src/config/environment';
import { DEFAULT_FEATURE_MAP_LAYERS, loadSensorClassifier, loadSensorSplits, metricKeyPart, renderFeatureMaps } from '../../src/sensors';
import { S3Store } from '../../src/storage';
import { initializeTensorBackend } from '../../src/tensors';
import { encodePng } from '../../src/imaging';

async function main(): Promise<void> {
  const options = new Command()
    .requiredOption('--model <prefix>', 'object-store prefix of the classifier')
    .requiredOption('--manifest <key>', 'prepared data set the classifier was trained on')
    .option('--layers <list>', 'comma-separated layer names; default per variant')
    .option('--sensors <list>', 'comma-separated sensors to draw; default all')
    .requiredOption('--out <folder>', 'output folder')
    .parse()
    .opts<{ model: string; manifest: string; layers?: string; sensors?: string; out: string }>();

  await initializeTensorBackend();
  const store = new S3Store(loadEnvironment().s3);
  const classifier = await loadSensorClassifier(store, options.model);
  const splits = await loadSensorSplits(store, options.manifest);
  const layers = options.layers?.split(',') ?? DEFAULT_FEATURE_MAP_LAYERS[classifier.metadata.variant];
  const sensors = options.sensors?.split(',') ?? splits.sensors;
  await mkdir(options.out, { recursive: true });

  for (const sensor of sensors) {
    const sample = splits.test.find((candidate) => candidate.sensor === sensor);
    if (sample === undefined) throw new Error(`no test image of sensor "${sensor}"; sensors: ${splits.sensors.join(', ')}`);
    const name = metricKeyPart(sensor);
    await writeFile(join(options.out, `${name}-input.png`), encodePng(sample.image));
    for (const [layer, png] of Object.entries(renderFeatureMaps(classifier, sample.image, layers))) {
      await writeFile(join(options.out, `${name}-${classifier.metadata.variant}-${layer}.png`), png);
    }
  }
  console.log(`wrote feature maps of ${sensors.length} sensor(s) to ${options.out}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
