import type { Metric } from '../tracking';
import type { RobustnessRow, SensorEvaluation } from './evaluate';

/** Formats a fraction as a percentage with two decimals, or `–` when undefined. */
export function formatPercent(fraction: number | undefined): string {
  return fraction === undefined || Number.isNaN(fraction) ? '–' : `${(fraction * 100).toFixed(2)}%`;
}

/** Returns an MLflow-safe metric key part: letters, digits, `_`, `-`, `.` only. */
export function metricKeyPart(text: string): string {
  return text.replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^_+|_+$/g, '');
}

/** Metrics of one evaluation for MLflow: `ccr`, `ccr.<sensor>`, `robustness.<perturbation>` and prefixed copies for a data variant. */
export function sensorEvaluationMetrics(evaluation: SensorEvaluation, robustness: RobustnessRow[] = []): Metric[] {
  const metrics: Metric[] = [{ key: 'ccr', value: evaluation.aggregateCcr }, { key: 'test_images', value: evaluation.testImages }];
  for (const [sensor, ccr] of Object.entries(evaluation.ccrBySensor)) {
    if (!Number.isNaN(ccr)) metrics.push({ key: `ccr.${metricKeyPart(sensor)}`, value: ccr });
  }
  for (const row of robustness) {
    if (row.perturbation.kind !== 'none') metrics.push({ key: `robustness.${metricKeyPart(row.label)}`, value: row.aggregateCcr });
  }
  return metrics;
}

/** Renders a confusion matrix as a Markdown table, actual sensors as rows. */
export function confusionMatrixMarkdown(evaluation: SensorEvaluation): string {
  const short = evaluation.sensors.map((_, index) => `S${index + 1}`);
  const lines = [
    `| actual \\ predicted | ${short.join(' | ')} |`,
    `|---|${short.map(() => '---:').join('|')}|`,
    ...evaluation.sensors.map((sensor, row) => `| S${row + 1} ${sensor} | ${evaluation.confusion[row].join(' | ')} |`),
  ];
  return lines.join('\n');
}

/** Lists the misclassified test images as Markdown bullets, `id: actual → predicted`, or one line when there are none. */
export function misclassifiedMarkdown(evaluation: SensorEvaluation): string {
  const misclassified = evaluation.misclassified ?? [];
  if (misclassified.length === 0) return evaluation.misclassified === undefined ? 'Misclassified images: not recorded.' : 'Misclassified images: none.';
  return ['Misclassified images:', '', ...misclassified.map((image) => `- \`${image.id}\`: ${image.actual} → ${image.predicted}`)].join('\n');
}

/** One sensor's row in the results tables: where it comes from and its test CCR per model. */
export interface SensorTableRow {
  dataset: string;
  database: string;
  sensor: string;
  trainImages: number;
  testImages: number;
  /** CCR per column name, such as `shallow` or `deep`. */
  ccr: Record<string, number>;
}

/**
 * Renders the per-sensor table grouped by competition (data set), with an
 * aggregate row per competition and one for all sensors merged.
 * `aggregate` contains each column's CCR over all test images.
 */
export function sensorTableMarkdown(rows: SensorTableRow[], columns: string[], aggregate: Record<string, number>): string {
  const lines = [
    `| competition | database | sensor | train | test | ${columns.map((column) => `CCR ${column}`).join(' | ')} |`,
    `|---|---|---|---:|---:|${columns.map(() => '---:').join('|')}|`,
  ];
  const datasets = [...new Set(rows.map((row) => row.dataset))].sort();
  for (const dataset of datasets) {
    const group = rows.filter((row) => row.dataset === dataset).sort((a, b) => a.database.localeCompare(b.database) || a.sensor.localeCompare(b.sensor));
    for (const row of group) {
      lines.push(`| ${row.dataset} | ${row.database || '–'} | ${row.sensor} | ${row.trainImages} | ${row.testImages} | ${columns.map((column) => formatPercent(row.ccr[column])).join(' | ')} |`);
    }
    const tests = group.reduce((sum, row) => sum + row.testImages, 0);
    const groupCcr = columns.map((column) => formatPercent(group.reduce((sum, row) => sum + row.ccr[column] * row.testImages, 0) / tests));
    lines.push(`| **${dataset}** | | all | ${group.reduce((sum, row) => sum + row.trainImages, 0)} | ${tests} | ${groupCcr.join(' | ')} |`);
  }
  lines.push(
    `| **all sensors merged** | | ${rows.length} sensors | ${rows.reduce((sum, row) => sum + row.trainImages, 0)} | ${rows.reduce((sum, row) => sum + row.testImages, 0)} | ${columns.map((column) => formatPercent(aggregate[column])).join(' | ')} |`,
  );
  return lines.join('\n');
}

/** Renders robustness rows of several models side by side: one row per perturbation, one CCR column per model. */
export function robustnessTableMarkdown(results: Record<string, RobustnessRow[]>): string {
  const columns = Object.keys(results);
  const labels = results[columns[0]]?.map((row) => row.label) ?? [];
  const lines = [`| perturbation | ${columns.map((column) => `CCR ${column}`).join(' | ')} |`, `|---|${columns.map(() => '---:').join('|')}|`];
  for (const label of labels) {
    lines.push(`| ${label} | ${columns.map((column) => formatPercent(results[column].find((row) => row.label === label)?.aggregateCcr)).join(' | ')} |`);
  }
  return lines.join('\n');
}
