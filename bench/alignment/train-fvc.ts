/**
 * Trains the CPU-sized alignment network on synthetic warps of FVC B-set
 * prints, evaluates it on held-out fingers and logs the run to MLflow.
 *
 *   npx tsx bench/alignment/train-fvc.ts --datasets ../shared/datasets --seed 7 \
 *     --epochs 40 --batches-per-epoch 25 --evaluation-pairs 240 --output /tmp/whorl-alignment
 *
 * Fingers 101–107 of every database train; fingers 108–110 evaluate, so no
 * evaluated finger is seen in training. Figures go to the console and to
 * results.json, overlays to overlays/*.png under --output.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  alignToReference,
  chooseReferenceImage,
  centerOnCanvas,
  commonCanvasSidePx,
  createAlignmentTrainer,
  evaluateImpressionPairs,
  evaluateSyntheticPairs,
  makeEvaluationPairs,
  overlapCorrelation,
  prepareAlignmentImage,
  renderAlignmentOverlay,
  saveAlignmentModel,
  warpGrayImage,
  type SyntheticEvaluation,
} from '../../src/alignment';
import { loadEnvironment } from '../../src/config/environment';
import type { GrayImage } from '../../src/imaging';
import { createLogger } from '../../src/logging';
import { CPU_ALIGNMENT_MODEL } from '../../src/models/alignment';
import { FilesystemStore } from '../../src/storage';
import { initializeTensorBackend, tensorBackendRunParameters } from '../../src/tensors';
import { MlflowClient } from '../../src/tracking';
import { runTrainingLoop } from '../../src/training';
import { DATABASES, FIRST_EVALUATION_FINGER, heldOutImpressionPairs, loadPrints } from './fvc-prints';

function formatEvaluation(evaluation: SyntheticEvaluation): string[] {
  const rows = [...evaluation.byRotation.map((bin) => ({ label: `|rotation| ${bin.fromDegrees}–${bin.toDegrees}°`, ...bin })), { label: 'all', ...evaluation.overall }];
  return rows.map(
    (row) =>
      `| ${row.label} | ${row.pairs} | ${row.identityError.toFixed(4)} (${(row.identityError * evaluation.pixelsPerUnit).toFixed(2)} px) | ${row.alignedError.toFixed(4)} (${(row.alignedError * evaluation.pixelsPerUnit).toFixed(2)} px) |`,
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      datasets: { type: 'string', default: '../shared/datasets' },
      output: { type: 'string', default: '/tmp/whorl-alignment' },
      seed: { type: 'string', default: '7' },
      epochs: { type: 'string', default: '40' },
      'batches-per-epoch': { type: 'string', default: '25' },
      'evaluation-pairs': { type: 'string', default: '240' },
      experiment: { type: 'string', default: 'whorl-alignment' },
      'no-tracking': { type: 'boolean', default: false },
    },
  });
  const seed = Number(values.seed);
  const epochs = Number(values.epochs);
  const batchesPerEpoch = Number(values['batches-per-epoch']);
  const logger = createLogger('bench-alignment');
  const backend = await initializeTensorBackend({ logger });
  const output = values.output;
  mkdirSync(join(output, 'overlays'), { recursive: true });

  const prints = loadPrints(values.datasets);
  const trainPrints = prints.filter((print) => print.finger < FIRST_EVALUATION_FINGER);
  const evaluationPrints = prints.filter((print) => print.finger >= FIRST_EVALUATION_FINGER);
  logger.info({ train: trainPrints.length, evaluation: evaluationPrints.length }, 'loaded FVC prints');

  const modelOptions = { ...CPU_ALIGNMENT_MODEL, seed };
  const sizePx = modelOptions.inputSizePx;
  const trainer = createAlignmentTrainer({ modelOptions, trainImages: trainPrints.map((print) => print.image), batchSize: 16, learningRate: 0.001 });
  const evaluationPairs = makeEvaluationPairs(
    evaluationPrints.map((print) => print.image),
    { sizePx, pairCount: Number(values['evaluation-pairs']), seed },
  );
  const validationPairs = evaluationPairs.slice(0, 64);

  const tracking = values['no-tracking'] ? undefined : MlflowClient.fromEnvironment(loadEnvironment());
  const experimentId = tracking === undefined ? undefined : await tracking.getOrCreateExperiment(values.experiment);
  const run = tracking === undefined || experimentId === undefined ? undefined : await tracking.createRun({ experimentId, runName: `alignment-cpu-seed${seed}`, tags: { 'whorl.kind': 'alignment-bench' } });
  if (tracking !== undefined && run !== undefined) {
    await tracking.logParams(run.runId, {
      preset: 'cpu',
      input_size_px: sizePx,
      feature_blocks: JSON.stringify(modelOptions.featureBlocks),
      regression: JSON.stringify(modelOptions.regression),
      seed,
      epochs,
      batches_per_epoch: batchesPerEpoch,
      batch_size: 16,
      learning_rate: 0.001,
      train_images: trainPrints.length,
      evaluation_images: evaluationPrints.length,
      databases: DATABASES.join(','),
      ...tensorBackendRunParameters(backend),
    });
  }

  const started = Date.now();
  const store = new FilesystemStore(join(output, 'store'));
  const result = await runTrainingLoop({
    stage: 'alignment',
    runKey: `bench-cpu-seed${seed}`,
    epochs,
    batchesPerEpoch,
    seed,
    trainStep: (epoch, batch, context) => trainer.trainStep(epoch, batch, context),
    evaluate: async () => {
      const validation = evaluateSyntheticPairs(trainer.model, validationPairs);
      return { validation_grid_error: validation.overall.alignedError, validation_identity_grid_error: validation.overall.identityError };
    },
    saveState: () => trainer.saveState(),
    loadState: (files) => trainer.loadState(files),
    store,
    tracking: tracking !== undefined && run !== undefined ? { client: tracking, runId: run.runId } : undefined,
    logger,
  });
  const trainingSeconds = (Date.now() - started) / 1000;

  const synthetic = evaluateSyntheticPairs(trainer.model, evaluationPairs);

  const impressionPairs = heldOutImpressionPairs(evaluationPrints);
  const real = evaluateImpressionPairs(trainer.model, impressionPairs);

  // Canonical alignment: every held-out print is warped onto its database's reference, chosen from training prints.
  const references = { global: chooseReferenceImage(trainPrints.map((print) => print.image), { seed }).image, bySensor: {} as Record<string, GrayImage> };
  for (const database of DATABASES) {
    references.bySensor[database] = chooseReferenceImage(trainPrints.filter((print) => print.database === database).map((print) => print.image), { seed }).image;
  }
  const canonicalBefore: number[] = [];
  const canonicalAfter: number[] = [];
  for (const database of DATABASES) {
    const queries = evaluationPrints.filter((print) => print.database === database);
    const aligned = alignToReference(trainer.model, references.bySensor[database], queries.map((print) => print.image));
    const canvasSidePx = commonCanvasSidePx([references.bySensor[database], ...queries.map((print) => print.image)]);
    // Before and after go through the same canvas and preparation, so only the warp differs.
    const prepared = queries.map((print) => prepareAlignmentImage(centerOnCanvas(print.image, canvasSidePx), { sizePx: 128, canvasSidePx }));
    const preparedAligned = aligned.map((entry) => prepareAlignmentImage(entry.image, { sizePx: 128, canvasSidePx }));
    for (let i = 0; i < queries.length; i++) {
      if (queries[i].impression !== 1) continue;
      for (let j = 0; j < queries.length; j++) {
        if (queries[j].finger !== queries[i].finger || j === i) continue;
        canonicalBefore.push(overlapCorrelation(prepared[i], prepared[j]).correlation);
        canonicalAfter.push(overlapCorrelation(preparedAligned[i], preparedAligned[j]).correlation);
      }
    }
  }
  const mean = (numbers: number[]): number => numbers.reduce((sum, value) => sum + value, 0) / numbers.length;

  // Overlays of a few real pairs, chosen evenly over the list.
  for (let k = 0; k < 6; k++) {
    const pair = impressionPairs[Math.floor((k * impressionPairs.length) / 6)];
    const score = real.scores.find((entry) => entry.id === pair.id);
    if (score === undefined) continue;
    const canvasSidePx = commonCanvasSidePx([pair.query, pair.candidate]);
    const query = prepareAlignmentImage(pair.query, { sizePx: 256, canvasSidePx });
    const candidate = prepareAlignmentImage(pair.candidate, { sizePx: 256, canvasSidePx });
    const aligned = score.transformApplied ? warpGrayImage(candidate, score.parameters) : candidate;
    writeFileSync(join(output, 'overlays', `${pair.id.replace(/[^A-Za-z0-9_-]+/g, '_')}.png`), renderAlignmentOverlay(query, candidate, aligned));
  }

  const modelPrefix = `models/alignment/bench-cpu-seed${seed}/`;
  const metrics: Record<string, number> = {
    synthetic_identity_grid_error: synthetic.overall.identityError,
    synthetic_aligned_grid_error: synthetic.overall.alignedError,
    synthetic_degenerate_predictions: synthetic.degenerateCount,
    real_pairs: real.pairs,
    real_ncc_before: real.meanCorrelationBefore,
    real_ncc_after: real.meanCorrelationAfter,
    real_improved_fraction: real.improvedFraction,
    real_degenerate_predictions: real.degenerateCount,
    canonical_pairs: canonicalBefore.length,
    canonical_ncc_before: mean(canonicalBefore),
    canonical_ncc_after: mean(canonicalAfter),
    training_seconds: trainingSeconds,
  };
  for (const bin of synthetic.byRotation) {
    metrics[`synthetic_identity_grid_error_rot${bin.fromDegrees}_${bin.toDegrees}`] = bin.identityError;
    metrics[`synthetic_aligned_grid_error_rot${bin.fromDegrees}_${bin.toDegrees}`] = bin.alignedError;
  }
  await saveAlignmentModel(store, modelPrefix, { model: trainer.model, modelOptions, references, metrics });

  if (tracking !== undefined && run !== undefined) {
    await tracking.logBatch(run.runId, { metrics: Object.entries(metrics).map(([key, value]) => ({ key, value, step: epochs })) });
    await tracking.endRun(run.runId, 'FINISHED');
  }

  const report = { seed, epochs, batchesPerEpoch, backend: backend.name, trainingSeconds, history: result.history, synthetic, real: { ...real, scores: undefined }, metrics, mlflowRunId: run?.runId, modelPrefix };
  writeFileSync(join(output, 'results.json'), JSON.stringify(report, null, 2));
  console.log(['| rotation | pairs | identity error | aligned error |', '|---|---|---|---|', ...formatEvaluation(synthetic)].join('\n'));
  console.log(JSON.stringify({ metrics, mlflowRunId: run?.runId, trainingSeconds }, null, 2));
  trainer.dispose();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
