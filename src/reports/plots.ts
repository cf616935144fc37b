import type { TopLevelSpec } from 'vega-lite/build/index';
import {
  barChart,
  groupedBarChart,
  heatMapChart,
  histogramChart,
  lineChart,
  trainingChart,
  type MatrixCell,
  type TrainingRow,
} from './charts/specs';
import type { CodeQuality, RunReport, SensorClassification } from './run-report';
import { percentile } from './statistics';

/** Report sections that carry plots, in page order. */
export type PlotSection = 'training' | 'sensor' | 'robustness' | 'alignment' | 'retrieval' | 'codes' | 'index';

export interface PlotDefinition {
  /** File-name-safe name: the plot is stored as `plots/<name>.png` and `.svg`. */
  name: string;
  section: PlotSection;
  /** Text for the image's alt attribute. */
  description: string;
  spec: TopLevelSpec;
}

/** Largest bit-correlation heat map drawn; longer codes show their first bits only. */
export const MAX_CORRELATION_BITS = 64;

const PERTURBATION_AXIS: Record<'rotation' | 'occlusion' | 'noise', string> = {
  rotation: 'rotation angle (degrees)',
  occlusion: 'occluded area (%)',
  noise: 'noise level (%)',
};

/** Lowercases and replaces anything but letters, digits and dashes, for plot names. */
export function slug(text: string): string {
  const cleaned = text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  return cleaned === '' ? 'unnamed' : cleaned;
}

function trainingPlots(report: RunReport): PlotDefinition[] {
  return (report.training ?? [])
    .filter((history) => history.epochs.length > 0)
    .map((history) => {
      const rows: TrainingRow[] = [];
      for (const epoch of history.epochs) {
        rows.push({ epoch: epoch.epoch, metric: 'loss', split: 'train', value: epoch.trainLoss });
        if (epoch.validationLoss !== undefined) rows.push({ epoch: epoch.epoch, metric: 'loss', split: 'validation', value: epoch.validationLoss });
        if (epoch.trainAccuracy !== undefined) rows.push({ epoch: epoch.epoch, metric: 'accuracy', split: 'train', value: epoch.trainAccuracy });
        if (epoch.validationAccuracy !== undefined) {
          rows.push({ epoch: epoch.epoch, metric: 'accuracy', split: 'validation', value: epoch.validationAccuracy });
        }
      }
      return {
        name: `training-${slug(history.network)}`,
        section: 'training' as const,
        description: `Training and validation loss and accuracy per epoch of ${history.network}`,
        spec: trainingChart(history.network, rows),
      };
    });
}

function confusionCells(sensors: string[], matrix: number[][]): MatrixCell[] {
  const cells: MatrixCell[] = [];
  sensors.forEach((trueSensor, row) => {
    const total = matrix[row].reduce((sum, count) => sum + count, 0);
    sensors.forEach((predictedSensor, column) => {
      const count = matrix[row][column];
      cells.push({ row: trueSensor, column: predictedSensor, value: total === 0 ? 0 : count / total, label: String(count) });
    });
  });
  return cells;
}

function sensorPlots(classification: SensorClassification | undefined): PlotDefinition[] {
  if (classification === undefined || classification.variants.length === 0) return [];
  const rows = classification.variants.flatMap((variant) =>
    classification.sensors.map((sensor) => ({ sensor, variant: variant.variant, ccr: variant.ccrPerSensor[sensor] ?? 0 })),
  );
  const plots: PlotDefinition[] = [
    {
      name: 'ccr-per-sensor',
      section: 'sensor',
      description: 'Correct classification rate per sensor, one bar per network variant',
      spec: groupedBarChart({
        title: 'Correct classification rate per sensor',
        rows,
        category: { field: 'sensor', title: 'sensor' },
        group: { field: 'variant', title: 'variant' },
        value: { field: 'ccr', title: 'CCR', percent: true },
      }),
    },
  ];
  for (const variant of classification.variants) {
    plots.push({
      name: `confusion-${slug(variant.variant)}`,
      section: 'sensor',
      description: `Confusion matrix of the ${variant.variant} sensor classifier: image counts, shaded by share of the true sensor`,
      spec: heatMapChart({
        title: `Confusion matrix: ${variant.variant}`,
        cells: confusionCells(classification.sensors, variant.confusionMatrix),
        rowOrder: classification.sensors,
        columnOrder: classification.sensors,
        rowTitle: 'true sensor',
        columnTitle: 'predicted sensor',
        valueTitle: 'share of row',
        labels: true,
      }),
    });
  }
  return plots;
}

function robustnessPlots(report: RunReport): PlotDefinition[] {
  const curves = report.robustness ?? [];
  return (['rotation', 'occlusion', 'noise'] as const)
    .map((perturbation) => curves.filter((curve) => curve.perturbation === perturbation && curve.points.length > 0))
    .filter((selected) => selected.length > 0)
    .map((selected) => {
      const perturbation = selected[0].perturbation;
      const rows = selected.flatMap((curve) => curve.points.map((point) => ({ variant: curve.variant, level: point.level, ccr: point.ccr })));
      const variantOrder = [...new Set(curves.map((curve) => curve.variant))];
      return {
        name: `robustness-${perturbation}`,
        section: 'robustness' as const,
        description: `Correct classification rate against ${PERTURBATION_AXIS[perturbation]}`,
        spec: lineChart({
          title: `CCR under ${perturbation}`,
          rows,
          x: { field: 'level', title: PERTURBATION_AXIS[perturbation] },
          y: { field: 'ccr', title: 'CCR', percent: true },
          series: { field: 'variant', title: 'variant', order: variantOrder },
          points: true,
        }),
      };
    });
}

function alignmentPlots(report: RunReport): PlotDefinition[] {
  const alignment = report.alignment;
  if (alignment === undefined || alignment.gridErrorBeforePx.length + alignment.gridErrorAfterPx.length === 0) return [];
  const rows = [
    ...alignment.gridErrorBeforePx.map((error) => ({ phase: 'before alignment', error })),
    ...alignment.gridErrorAfterPx.map((error) => ({ phase: 'after alignment', error })),
  ];
  return [
    {
      name: 'alignment-grid-error',
      section: 'alignment',
      description: 'Histogram of the grid-point error per test pair, before and after alignment',
      spec: histogramChart({
        title: 'Grid-point error per pair',
        rows,
        value: { field: 'error', title: 'mean grid-point error (px)' },
        group: { field: 'phase', title: 'phase', order: ['before alignment', 'after alignment'] },
      }),
    },
  ];
}

function retrievalPlots(report: RunReport): PlotDefinition[] {
  const results = report.retrieval?.results ?? [];
  if (results.length === 0) return [];
  const plots: PlotDefinition[] = [];
  const hasherOrder = [...new Set(results.map((result) => result.hasher))];

  const prRows = results.flatMap((result) =>
    result.precisionRecall.map((point) => ({ hasher: result.hasher, bits: result.codeLengthBits, recall: point.recall, precision: point.precision })),
  );
  if (prRows.length > 0) {
    plots.push({
      name: 'precision-recall',
      section: 'retrieval',
      description: 'Precision against recall per hasher, one panel per code length',
      spec: lineChart({
        title: 'Precision–recall per hasher',
        rows: prRows,
        x: { field: 'recall', title: 'recall', percent: true },
        y: { field: 'precision', title: 'precision', percent: true, zeroBased: true },
        series: { field: 'hasher', title: 'hasher', order: hasherOrder },
        column: { field: 'bits', title: 'code length', labelSuffix: ' bits' },
      }),
    });
  }

  const mapRows = results.map((result) => ({ hasher: result.hasher, bits: result.codeLengthBits, map: result.meanAveragePrecision }));
  plots.push({
    name: 'map-vs-code-length',
    section: 'retrieval',
    description: 'Mean average precision against code length per hasher',
    spec: lineChart({
      title: 'mAP against code length',
      rows: mapRows,
      x: { field: 'bits', title: 'code length (bits, log scale)', logBase2: true },
      y: { field: 'map', title: 'mAP', percent: true, zeroBased: true },
      series: { field: 'hasher', title: 'hasher', order: hasherOrder },
      points: true,
    }),
  });

  const hitRows = results.flatMap((result) =>
    result.hitRateByPenetration.map((point) => ({
      hasher: result.hasher,
      bits: result.codeLengthBits,
      penetration: point.penetrationRate,
      hit: point.hitRate,
    })),
  );
  if (hitRows.length > 0) {
    plots.push({
      name: 'hit-rate-vs-penetration',
      section: 'retrieval',
      description: 'Hit rate against penetration rate per hasher, one panel per code length',
      spec: lineChart({
        title: 'Hit rate against penetration rate',
        rows: hitRows,
        x: { field: 'penetration', title: 'penetration rate', percent: true },
        y: { field: 'hit', title: 'hit rate', percent: true },
        series: { field: 'hasher', title: 'hasher', order: hasherOrder },
        column: { field: 'bits', title: 'code length', labelSuffix: ' bits' },
      }),
    });
  }
  return plots;
}

function correlationCells(quality: CodeQuality, bits: number): MatrixCell[] {
  const cells: MatrixCell[] = [];
  for (let row = 0; row < bits; row++) {
    for (let column = 0; column < bits; column++) {
      const value = quality.bitCorrelation[row][column];
      cells.push({ row: String(row), column: String(column), value, label: value.toFixed(2) });
    }
  }
  return cells;
}

function codePlots(report: RunReport): PlotDefinition[] {
  return (report.codeQuality ?? []).flatMap((quality) => {
    const id = `${slug(quality.hasher)}-${quality.codeLengthBits}`;
    const label = `${quality.hasher}, ${quality.codeLengthBits} bits`;
    const shownBits = Math.min(quality.codeLengthBits, MAX_CORRELATION_BITS);
    const bitNames = Array.from({ length: shownBits }, (_, bit) => String(bit));
    const partial = shownBits < quality.codeLengthBits ? ` (bits 0–${shownBits - 1} of ${quality.codeLengthBits})` : '';
    return [
      {
        name: `bit-balance-${id}`,
        section: 'codes' as const,
        description: `Fraction of gallery codes with each bit set, ${label}`,
        spec: barChart({
          title: `Bit balance: ${label}`,
          rows: quality.bitBalance.map((share, bit) => ({ bit, share })),
          category: { field: 'bit', title: 'bit', quantitative: true },
          value: { field: 'share', title: 'codes with bit set', percent: true, domain: [0, 1] },
          reference: { value: 0.5, label: 'balanced' },
        }),
      },
      {
        name: `bit-correlation-${id}`,
        section: 'codes' as const,
        description: `Correlation between bits of gallery codes, ${label}${partial}`,
        spec: heatMapChart({
          title: `Bit correlation: ${label}${partial}`,
          cells: correlationCells(quality, shownBits),
          rowOrder: bitNames,
          columnOrder: bitNames,
          rowTitle: 'bit',
          columnTitle: 'bit',
          valueTitle: 'correlation',
          diverging: true,
          cellSizePx: Math.max(4, Math.min(24, Math.floor(384 / shownBits))),
        }),
      },
    ];
  });
}

function indexPlots(report: RunReport): PlotDefinition[] {
  const index = report.index;
  if (index === undefined) return [];
  const plots: PlotDefinition[] = [];
  if (index.shards.length > 0) {
    plots.push({
      name: 'index-shard-size',
      section: 'index',
      description: `Size of each shard of index ${index.name} ${index.version}`,
      spec: barChart({
        title: 'Index size per shard',
        rows: index.shards.map((shard) => ({ shard: shard.name, sizeMiB: shard.sizeBytes / 2 ** 20 })),
        category: { field: 'shard', title: 'shard' },
        value: { field: 'sizeMiB', title: 'size (MiB)' },
      }),
    });
  }
  if (index.queryLatencyMs.length > 0) {
    const p50 = percentile(index.queryLatencyMs, 50);
    const p95 = percentile(index.queryLatencyMs, 95);
    plots.push({
      name: 'query-latency',
      section: 'index',
      description: 'Distribution of single-query latency, with the median and 95th percentile marked',
      spec: histogramChart({
        title: 'Query latency',
        rows: index.queryLatencyMs.map((latencyMs) => ({ latencyMs })),
        value: { field: 'latencyMs', title: 'latency (ms)' },
        markers: [
          { label: `p50 ${p50.toFixed(2)} ms`, value: p50 },
          { label: `p95 ${p95.toFixed(2)} ms`, value: p95 },
        ],
      }),
    });
  }
  return plots;
}

/** Lists every plot that the report's data supports, in page order. */
export function planPlots(report: RunReport): PlotDefinition[] {
  return [
    ...trainingPlots(report),
    ...sensorPlots(report.sensorClassification),
    ...robustnessPlots(report),
    ...alignmentPlots(report),
    ...retrievalPlots(report),
    ...codePlots(report),
    ...indexPlots(report),
  ];
}
