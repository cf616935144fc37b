/**
 * Evaluates a saved alignment model on real impression pairs of the held-out
 * FVC fingers, at several correlation sizes, and draws overlays.
 *
 *   npx tsx bench/alignment/evaluate-fvc.ts --store /tmp/whorl-alignment/store \
 *     --model-prefix models/alignment/bench-cpu-seed7/ --sizes 64,128 --overlays 12 \
 *     --mlflow-run-id <run id printed by train-fvc.ts>
 *
 * With --mlflow-run-id, the figures are added to that run as
 * real_ncc_before_<size>px and real_ncc_after_<size>px.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { commonCanvasSidePx, evaluateImpressionPairs, loadAlignmentModel, prepareAlignmentImage, renderAlignmentOverlay, warpGrayImage } from '../../src/alignment';
import { loadEnvironment } from '../../src/config/environment';
import { createLogger } from '../../src/logging';
import { FilesystemStore } from '../../src/storage';
import { initializeTensorBackend } from '../../src/tensors';
import { MlflowClient } from '../../src/tracking';
import { FIRST_EVALUATION_FINGER, heldOutImpressionPairs, loadPrints } from './fvc-prints';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      datasets: { type: 'string', default: '../shared/datasets' },
      store: { type: 'string', default: '/tmp/whorl-alignment/store' },
      'model-prefix': { type: 'string', default: 'models/alignment/bench-cpu-seed7/' },
      sizes: { type: 'string', default: '64,128' },
      overlays: { type: 'string', default: '12' },
      output: { type: 'string', default: '/tmp/whorl-alignment-evaluation' },
      'mlflow-run-id': { type: 'string' },
    },
  });
  await initializeTensorBackend({ logger: createLogger('bench-alignment-evaluate') });
  const { model } = await loadAlignmentModel(new FilesystemStore(values.store), values['model-prefix']);
  const pairs = heldOutImpressionPairs(loadPrints(values.datasets).filter((print) => print.finger >= FIRST_EVALUATION_FINGER));

  const rows: string[] = ['| correlation size | pairs | NCC before | NCC after | improved | degenerate |', '|---|---|---|---|---|---|'];
  const metrics: Array<{ key: string; value: number }> = [];
  let scores = evaluateImpressionPairs(model, pairs).scores;
  for (const sizePx of values.sizes.split(',').map(Number)) {
    const evaluation = evaluateImpressionPairs(model, pairs, { evaluationSizePx: sizePx });
    if (sizePx === 128) scores = evaluation.scores;
    metrics.push({ key: `real_ncc_before_${sizePx}px`, value: evaluation.meanCorrelationBefore }, { key: `real_ncc_after_${sizePx}px`, value: evaluation.meanCorrelationAfter });
    metrics.push({ key: `real_improved_fraction_${sizePx}px`, value: evaluation.improvedFraction });
    rows.push(
      `| ${sizePx} px | ${evaluation.pairs} | ${evaluation.meanCorrelationBefore.toFixed(3)} | ${evaluation.meanCorrelationAfter.toFixed(3)} | ${(100 * evaluation.improvedFraction).toFixed(0)}% | ${evaluation.degenerateCount} |`,
    );
  }
  console.log(rows.join('\n'));
  const runId = values['mlflow-run-id'];
  if (runId !== undefined) await MlflowClient.fromEnvironment(loadEnvironment()).logBatch(runId, { metrics });

  mkdirSync(values.output, { recursive: true });
  const overlayCount = Number(values.overlays);
  for (let k = 0; k < overlayCount; k++) {
    const index = Math.floor((k * pairs.length) / overlayCount);
    const pair = pairs[index];
    const score = scores[index];
    const canvasSidePx = commonCanvasSidePx([pair.query, pair.candidate]);
    const query = prepareAlignmentImage(pair.query, { sizePx: 256, canvasSidePx });
    const candidate = prepareAlignmentImage(pair.candidate, { sizePx: 256, canvasSidePx });
    const aligned = score.transformApplied ? warpGrayImage(candidate, score.parameters) : candidate;
    const name = `${pair.id.replace(/[^A-Za-z0-9_-]+/g, '_')}.png`;
    writeFileSync(join(values.output, name), renderAlignmentOverlay(query, candidate, aligned));
    console.log(`${name}: NCC ${score.scoreBeforeAlignment.toFixed(3)} → ${score.score.toFixed(3)}, θ = [${score.parameters.map((value) => value.toFixed(3)).join(', ')}]`);
  }
  model.dispose();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
