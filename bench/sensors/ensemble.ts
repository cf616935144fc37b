/**
 * Evaluates trained sensor classifiers on the test split of a prepared data
 * set, each alone and as an ensemble that averages their softmax outputs,
 * and lists the misclassified images of each.
 *
 *   npx tsx bench/sensors/ensemble.ts --manifest prepared/sensor-protocol/<hash>/manifest.json \
 *     --models models/sensor-shallow/<hash>/,models/sensor-deep/<hash>/
 */
import { Command } from 'commander';
import { loadEnvironment } from '../../src/config/environment';
import { createLogger } from '../../src/logging';
import { S3Store } from '../../src/storage';
import { initializeTensorBackend } from '../../src/tensors';
import { formatPercent, loadSensorClassifier, loadSensorSplits, misclassifiedMarkdown, predictProbabilities, summarizePredictions } from '../../src/sensors';

/** Returns the index of the largest value. */
function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let index = 1; index < values.length; index++) {
    if (values[index] > values[best]) best = index;
  }
  return best;
}

async function main(): Promise<void> {
  const options = new Command()
    .requiredOption('--manifest <key>', 'object key of the prepared data set manifest, as the protocol prints it')
    .requiredOption('--models <list>', 'comma-separated model prefixes, such as models/sensor-deep/<hash>/')
    .option('--threads <n>', 'tensor backend threads', '1')
    .parse()
    .opts<{ manifest: string; models: string; threads: string }>();

  const logger = createLogger('sensor-ensemble');
  await initializeTensorBackend({ threads: Number(options.threads), logger });
  const store = new S3Store(loadEnvironment().s3);
  const splits = await loadSensorSplits(store, options.manifest);
  const prefixes = options.models.split(',').map((prefix) => prefix.trim());
  const actual = splits.test.map((sample) => sample.label);
  const ids = splits.test.map((sample) => sample.id);

  const sums = splits.test.map(() => new Float64Array(splits.sensors.length));
  for (const prefix of prefixes) {
    const classifier = await loadSensorClassifier(store, prefix);
    if (classifier.metadata.sensors.join(',') !== splits.sensors.join(',')) {
      throw new Error(`classifier ${prefix} was trained on sensors ${classifier.metadata.sensors.join(', ')}, but the data set has ${splits.sensors.join(', ')}; pass classifiers trained on this data set`);
    }
    const rows = predictProbabilities(
      classifier,
      splits.test.map((sample) => sample.image),
    );
    classifier.model.dispose();
    rows.forEach((row, index) => row.forEach((value, label) => (sums[index][label] += value)));

    const evaluation = summarizePredictions(splits.sensors, actual, rows.map(argmax), ids);
    console.log(`## ${prefix}\n\nCCR ${formatPercent(evaluation.aggregateCcr)}\n\n${misclassifiedMarkdown(evaluation)}\n`);
  }

  const ensemble = summarizePredictions(splits.sensors, actual, sums.map(argmax), ids);
  console.log(`## Mean of ${prefixes.length} classifiers\n\nCCR ${formatPercent(ensemble.aggregateCcr)}\n\n${misclassifiedMarkdown(ensemble)}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
