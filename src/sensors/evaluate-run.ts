import type { Logger } from '../logging';
import type { ObjectStore } from '../storage';
import type { MlflowClient, RunInfo } from '../tracking';
import { loadSensorClassifier } from './classifier';
import { loadSensorSplits, type SensorSplits } from './dataset';
import { ROBUSTNESS_PERTURBATIONS, evaluateRobustness, evaluateSensorClassifier, type RobustnessRow, type SensorEvaluation } from './evaluate';
import { DEFAULT_FEATURE_MAP_LAYERS, renderFeatureMaps } from './feature-maps';
import { confusionMatrixMarkdown, metricKeyPart, misclassifiedMarkdown, robustnessTableMarkdown, sensorEvaluationMetrics } from './report';

export interface EvaluateSensorRunRequest {
  store: ObjectStore;
  /** Prefix of the trained classifier, such as `models/sensor-shallow/<hash>/`. */
  modelPrefix: string;
  /** Prepared data set whose test split is evaluated; usually the one the classifier was trained on. */
  manifestKey: string;
  /** Prefix of the report files, such as `reports/<run>/sensor-shallow/`. */
  reportPrefix: string;
  /** Seeds the perturbations. */
  seed: number;
  /** Skip the robustness tables, for a quick check. */
  skipRobustness?: boolean;
  /** Layers whose activations are drawn for one test print per sensor; defaults per variant. */
  featureMapLayers?: string[];
  tracking?: { client: MlflowClient; run: RunInfo };
  /** Called after each robustness row, so an activity can heartbeat. */
  onProgress?(done: number, total: number): void;
  logger?: Logger;
}

export interface SensorRunEvaluation {
  evaluation: SensorEvaluation;
  robustness: RobustnessRow[];
  /** Object keys of the written report files: `evaluation.json`, `report.md` and the feature-map PNGs. */
  reportKeys: string[];
}

/**
 * Evaluates a trained classifier on the test split: CCR per sensor and
 * aggregate, the confusion matrix, the robustness tables and feature-map
 * PNGs. Writes them under `reportPrefix` and, when tracking is set, logs
 * the metrics and files to the MLflow run.
 */
export async function evaluateSensorRun(request: EvaluateSensorRunRequest, loadedSplits?: SensorSplits): Promise<SensorRunEvaluation> {
  const classifier = await loadSensorClassifier(request.store, request.modelPrefix);
  const splits = loadedSplits ?? (await loadSensorSplits(request.store, request.manifestKey));
  if (splits.sensors.join('\n') !== classifier.metadata.sensors.join('\n')) {
    throw new Error(
      `the classifier under ${request.modelPrefix} knows sensors ${classifier.metadata.sensors.join(', ')}, but ${request.manifestKey} has ${splits.sensors.join(', ')}; evaluate on the data set it was trained on`,
    );
  }

  try {
    const evaluation = evaluateSensorClassifier(classifier, splits.test, { seed: request.seed });
    const robustness: RobustnessRow[] = [];
    if (request.skipRobustness !== true) {
      evaluateRobustness(classifier, splits.test, {
        seed: request.seed,
        onRow: (row) => {
          robustness.push(row);
          request.onProgress?.(robustness.length, ROBUSTNESS_PERTURBATIONS.length + 1);
        },
      });
    }

    const base = request.reportPrefix.endsWith('/') ? request.reportPrefix : `${request.reportPrefix}/`;
    const files: Record<string, Uint8Array | string> = {
      'evaluation.json': JSON.stringify({ modelPrefix: request.modelPrefix, manifestKey: request.manifestKey, evaluation, robustness }, null, 2),
      'report.md': [
        `# Sensor classifier ${classifier.metadata.variant} (${classifier.metadata.preprocess.variant})`,
        '',
        confusionMatrixMarkdown(evaluation),
        '',
        misclassifiedMarkdown(evaluation),
        '',
        robustness.length > 0 ? robustnessTableMarkdown({ [classifier.metadata.variant]: robustness }) : '',
      ].join('\n'),
    };

    const layers = request.featureMapLayers ?? DEFAULT_FEATURE_MAP_LAYERS[classifier.metadata.variant];
    for (const sensor of splits.sensors) {
      const sample = splits.test.find((candidate) => candidate.sensor === sensor) ?? splits.train.find((candidate) => candidate.sensor === sensor);
      if (sample === undefined) continue;
      for (const [layer, png] of Object.entries(renderFeatureMaps(classifier, sample.image, layers))) {
        files[`feature-maps/${metricKeyPart(sensor)}/${layer}.png`] = png;
      }
    }

    const reportKeys: string[] = [];
    for (const [name, body] of Object.entries(files)) {
      await request.store.put(base + name, body, { contentType: name.endsWith('.png') ? 'image/png' : name.endsWith('.json') ? 'application/json' : 'text/markdown' });
      reportKeys.push(base + name);
    }

    if (request.tracking !== undefined) {
      const { client, run } = request.tracking;
      await client.logBatch(run.runId, { metrics: sensorEvaluationMetrics(evaluation, robustness) });
      for (const [name, body] of Object.entries(files)) {
        await client.logArtifact(run, `evaluation/${name}`, body, name.endsWith('.png') ? 'image/png' : undefined);
      }
    }
    request.logger?.info({ modelPrefix: request.modelPrefix, ccr: evaluation.aggregateCcr }, 'evaluated sensor classifier');
    return { evaluation, robustness, reportKeys };
  } finally {
    classifier.model.dispose();
  }
}
