import { UserInputError } from '../config/errors';
import type { Run } from '../tracking';
import { formatPercent } from './report';

/** MLflow tags that sensor runs carry, so a comparison finds a shallow and a deep run on the same data. */
export const SENSOR_RUN_TAGS = {
  stage: 'whorl.stage',
  variant: 'whorl.variant',
  dataVariant: 'whorl.data_variant',
  pair: 'whorl.pair',
  runKey: 'whorl.run_key',
} as const;

/** A shallow and a deep run with the same pair key and data variant. */
export interface SensorRunPair {
  pairKey: string;
  dataVariant: string;
  shallow: Run;
  deep: Run;
}

/** One line of the side-by-side table. */
export interface ComparisonRow {
  /** Quantity, such as `CCR (aggregate)`, `CCR keytronic`, `robustness rotation_15` or `parameters`. */
  quantity: string;
  shallow: string;
  deep: string;
  /** Numeric values for the chart, present for CCR and robustness rows. */
  shallowValue?: number;
  deepValue?: number;
}

/**
 * Groups finished sensor runs by pair key and data variant and returns the
 * newest shallow and newest deep run of each group. Groups that lack either
 * variant are left out. Pairs come newest first.
 */
export function findSensorRunPairs(runs: Run[]): SensorRunPair[] {
  const groups = new Map<string, { pairKey: string; dataVariant: string; shallow?: Run; deep?: Run; newestMs: number }>();
  for (const run of runs) {
    const pairKey = run.tags[SENSOR_RUN_TAGS.pair];
    const variant = run.tags[SENSOR_RUN_TAGS.variant];
    if (pairKey === undefined || (variant !== 'shallow' && variant !== 'deep')) continue;

    const dataVariant = run.tags[SENSOR_RUN_TAGS.dataVariant] ?? 'full';
    const key = `${pairKey}\n${dataVariant}`;
    const group = groups.get(key) ?? { pairKey, dataVariant, newestMs: 0 };
    const current = group[variant];
    if (current === undefined || run.info.startTimeMs > current.info.startTimeMs) group[variant] = run;
    group.newestMs = Math.max(group.newestMs, run.info.startTimeMs);
    groups.set(key, group);
  }
  return [...groups.values()]
    .filter((group): group is typeof group & { shallow: Run; deep: Run } => group.shallow !== undefined && group.deep !== undefined)
    .sort((a, b) => b.newestMs - a.newestMs)
    .map(({ pairKey, dataVariant, shallow, deep }) => ({ pairKey, dataVariant, shallow, deep }));
}

const ROBUSTNESS_KEY = /^robustness\.(rotation|occlusion|noise)_(\d+(?:\.\d+)?)$/;
const PERTURBATION_ORDER = ['rotation', 'occlusion', 'noise'];

/** Sort key of a robustness metric: perturbation kind first, then its level. */
function robustnessOrder(key: string): number {
  const match = ROBUSTNESS_KEY.exec(key);
  return match === null ? Number.MAX_SAFE_INTEGER : PERTURBATION_ORDER.indexOf(match[1]) * 1000 + Number(match[2]);
}

/** Turns a metric key such as `robustness.rotation_15` back into `rotation 15°`. */
function robustnessLabel(key: string): string {
  const match = ROBUSTNESS_KEY.exec(key);
  if (match === null) return key;
  return `${match[1]} ${match[2]}${match[1] === 'rotation' ? '°' : '%'}`;
}

function seconds(value: number | undefined): string {
  return value === undefined ? '–' : `${(value / 1000).toFixed(1)} s`;
}

/** Builds the side-by-side rows of one pair: CCR, per-sensor CCR, robustness, parameters, training time and backend. */
export function comparisonRows(pair: SensorRunPair): ComparisonRow[] {
  const { shallow, deep } = pair;
  const rows: ComparisonRow[] = [];
  const metricRow = (quantity: string, key: string): void => {
    const shallowValue = shallow.metrics[key];
    const deepValue = deep.metrics[key];
    rows.push({ quantity, shallow: formatPercent(shallowValue), deep: formatPercent(deepValue), shallowValue, deepValue });
  };

  metricRow('CCR (aggregate)', 'ccr');
  const metricKeys = [...new Set([...Object.keys(shallow.metrics), ...Object.keys(deep.metrics)])].sort();
  for (const key of metricKeys.filter((name) => name.startsWith('ccr.'))) metricRow(`CCR ${key.slice('ccr.'.length)}`, key);
  const robustnessKeys = metricKeys.filter((name) => name.startsWith('robustness.')).sort((a, b) => robustnessOrder(a) - robustnessOrder(b) || a.localeCompare(b));
  for (const key of robustnessKeys) metricRow(robustnessLabel(key), key);

  const parameterCount = (run: Run): string => {
    const value = Number(run.params.parameter_count);
    return Number.isFinite(value) ? value.toLocaleString('en-US') : '–';
  };
  rows.push({ quantity: 'parameters', shallow: parameterCount(shallow), deep: parameterCount(deep) });
  rows.push({ quantity: 'training time', shallow: seconds(shallow.metrics.training_time_ms), deep: seconds(deep.metrics.training_time_ms) });
  const backend = (run: Run): string => run.params['tensors.backend'] ?? run.params.tensor_backend ?? '–';
  rows.push({ quantity: 'tensor backend', shallow: backend(shallow), deep: backend(deep) });
  rows.push({ quantity: 'MLflow run', shallow: shallow.info.runId, deep: deep.info.runId });
  return rows;
}

/** Formats rows as a fixed-width text table for the terminal. */
export function comparisonTable(rows: ComparisonRow[]): string {
  const header = { quantity: 'quantity', shallow: 'shallow (VGG-19 variant)', deep: 'deep (ResNet50 variant)' };
  const all = [header, ...rows];
  const widths = (['quantity', 'shallow', 'deep'] as const).map((column) => Math.max(...all.map((row) => row[column].length)));
  const line = (row: { quantity: string; shallow: string; deep: string }): string =>
    `${row.quantity.padEnd(widths[0])}  ${row.shallow.padStart(widths[1])}  ${row.deep.padStart(widths[2])}`;
  return [line(header), '-'.repeat(widths[0] + widths[1] + widths[2] + 4), ...rows.map(line)].join('\n');
}

/** Chooses the pairs to compare: the one with the given key, or the newest `limit`. Raises UserInputError when none match. */
export function selectPairs(pairs: SensorRunPair[], options: { pairKey?: string; dataVariant?: string; limit: number }): SensorRunPair[] {
  const matching = pairs.filter(
    (pair) => (options.pairKey === undefined || pair.pairKey === options.pairKey) && (options.dataVariant === undefined || pair.dataVariant === options.dataVariant),
  );
  if (matching.length === 0) {
    const known = pairs.map((pair) => `${pair.pairKey} (${pair.dataVariant})`).slice(0, 10);
    throw new UserInputError(
      `no finished shallow and deep sensor runs match${options.pairKey !== undefined ? ` pair ${options.pairKey}` : ''}${options.dataVariant !== undefined ? ` data variant ${options.dataVariant}` : ''}; ` +
        (known.length > 0 ? `pairs found: ${known.join(', ')}` : `train both variants first, tagging runs with ${SENSOR_RUN_TAGS.stage}=sensor, ${SENSOR_RUN_TAGS.variant} and ${SENSOR_RUN_TAGS.pair}`),
    );
  }
  return matching.slice(0, options.limit);
}
