import { UserInputError } from '../config/errors';
import { MlflowRequestError, type MlflowClient } from '../tracking';
import type { BuiltReport, ReportImage } from './build-report';
import { renderChart } from './charts/render';
import { groupedBarChart, lineChart } from './charts/specs';
import { formatDuration, formatNumber, html, page, pngImage, table, type Html } from './html';
import { slug } from './plots';

/** One MLflow run as the comparison page shows it. */
export interface ComparedRun {
  runId: string;
  runName: string;
  status: string;
  startTimeMs: number;
  endTimeMs?: number;
  params: Record<string, string>;
  tags: Record<string, string>;
  /** Latest value of each metric. */
  metrics: Record<string, number>;
  /** Every logged value of each metric, in step order. */
  histories: Record<string, Array<{ step: number; value: number }>>;
}

/** Most metric-history charts on one page; the metric table still lists every metric. */
export const MAX_HISTORY_CHARTS = 24;

const RUN_ID_PATTERN = /^[0-9a-f]{32}$/;

/**
 * Reads runs from MLflow for the comparison page. A reference is a run id
 * (32 hex digits) or, with `experimentId`, a run name in that experiment.
 */
export async function loadComparedRuns(client: MlflowClient, references: string[], options: { experimentId?: string } = {}): Promise<ComparedRun[]> {
  if (references.length < 1) throw new UserInputError('no runs to compare: pass at least one run id or name, such as --runs A,B');
  const runs: ComparedRun[] = [];
  for (const reference of references) {
    const run = await findRun(client, reference, options.experimentId);
    const histories: ComparedRun['histories'] = {};
    for (const key of Object.keys(run.metrics).sort()) {
      histories[key] = (await client.getMetricHistory(run.info.runId, key)).map((metric) => ({ step: metric.step, value: metric.value }));
    }
    runs.push({
      runId: run.info.runId,
      runName: run.info.runName,
      status: run.info.status,
      startTimeMs: run.info.startTimeMs,
      endTimeMs: run.info.endTimeMs,
      params: run.params,
      tags: run.tags,
      metrics: run.metrics,
      histories,
    });
  }
  return runs;
}

async function findRun(client: MlflowClient, reference: string, experimentId: string | undefined) {
  if (RUN_ID_PATTERN.test(reference)) {
    try {
      return await client.getRun(reference);
    } catch (error) {
      if (!(error instanceof MlflowRequestError && error.errorCode === 'RESOURCE_DOES_NOT_EXIST') || experimentId === undefined) throw error;
    }
  }
  if (experimentId === undefined) {
    throw new UserInputError(`invalid run reference "${reference}": expected a 32-digit hex MLflow run id, or pass an experiment to look runs up by name`);
  }
  const escaped = reference.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
  const found = await client.searchRuns({ experimentIds: [experimentId], filter: `attributes.run_name = '${escaped}'`, orderBy: ['attributes.start_time DESC'], maxResults: 1 });
  if (found.length === 0) throw new UserInputError(`run "${reference}" not found in MLflow experiment ${experimentId}; check the name, or pass the run id`);
  return found[0];
}

/** Short distinct labels for the runs: the run name, or the id's first 8 digits, with `#2`, `#3` for repeats. */
function runLabels(runs: ComparedRun[]): string[] {
  const counts = new Map<string, number>();
  return runs.map((run) => {
    const label = run.runName !== '' ? run.runName : run.runId.slice(0, 8);
    const count = (counts.get(label) ?? 0) + 1;
    counts.set(label, count);
    return count === 1 ? label : `${label} #${count}`;
  });
}

function differs(values: Array<string | undefined>): boolean {
  return new Set(values).size > 1;
}

/**
 * Builds one self-contained HTML page that compares runs side by side. It
 * shows run facts, the latest value of every metric and the params, with
 * differing params first. Its plots are a chart of each metric history with
 * more than one step, and a bar chart of the metrics that every run logged
 * as a fraction in [0, 1], such as CCR or mAP.
 */
export async function buildComparisonPage(runs: ComparedRun[]): Promise<BuiltReport> {
  if (runs.length === 0) throw new UserInputError('no runs to compare: pass at least one run');
  const labels = runLabels(runs);
  const images: Record<string, ReportImage> = {};
  const figures: Html[] = [];

  const addChart = async (name: string, description: string, spec: Parameters<typeof renderChart>[0]) => {
    const rendered = await renderChart(spec);
    images[name] = rendered;
    const width = Number(/^<svg[^>]*\swidth="([0-9.]+)"/.exec(rendered.svg)?.[1] ?? 480);
    figures.push(html`<figure>${pngImage(rendered.png, { alt: description, widthPx: width, id: `plot-${name}` })}<figcaption>${description}</figcaption></figure>`);
  };

  const metricKeys = [...new Set(runs.flatMap((run) => Object.keys(run.metrics)))].sort();
  // NOTE: MLflow stores no unit, so a metric counts as a fraction when every run's latest value lies in [0, 1]
  // and its name does not say loss, which can also fall in that range.
  const sharedFractions = metricKeys.filter(
    (key) => !/loss/i.test(key) && runs.every((run) => run.metrics[key] !== undefined && run.metrics[key] >= 0 && run.metrics[key] <= 1),
  );
  if (sharedFractions.length > 0) {
    await addChart(
      'final-metrics',
      'Latest value of each metric that every run logged as a fraction',
      groupedBarChart({
        title: 'Final metrics (fractions)',
        rows: sharedFractions.flatMap((metric) => runs.map((run, index) => ({ metric, run: labels[index], value: run.metrics[metric] }))),
        category: { field: 'metric', title: 'metric' },
        group: { field: 'run', title: 'run', order: labels },
        value: { field: 'value', title: 'value', percent: true },
      }),
    );
  }

  const historyKeys = metricKeys.filter((key) => runs.some((run) => (run.histories[key]?.length ?? 0) > 1));
  for (const key of historyKeys.slice(0, MAX_HISTORY_CHARTS)) {
    const rows = runs.flatMap((run, index) => (run.histories[key] ?? []).map((point) => ({ run: labels[index], step: point.step, value: point.value })));
    await addChart(`history-${slug(key)}`, `${key} per step, one line per run`, lineChart({
      title: key,
      rows,
      x: { field: 'step', title: 'step' },
      y: { field: 'value', title: key },
      series: { field: 'run', title: 'run', order: labels },
    }));
  }
  const omittedHistories = Math.max(0, historyKeys.length - MAX_HISTORY_CHARTS);

  const runColumns = runs.map((run, index) => ({ run, label: labels[index] }));
  const factsTable = table<{ name: string; value: (run: ComparedRun) => Html | string }>(
    [{ header: '', cell: (row) => row.name }, ...runColumns.map(({ run, label }) => ({ header: label, cell: (row: { value: (run: ComparedRun) => Html | string }) => row.value(run) }))],
    [
      { name: 'run id', value: (run) => html`<code>${run.runId}</code>` },
      { name: 'status', value: (run) => html`<span class="badge ${run.status === 'FINISHED' ? 'succeeded' : run.status === 'RUNNING' ? 'running' : 'failed'}">${run.status.toLowerCase()}</span>` },
      { name: 'started', value: (run) => new Date(run.startTimeMs).toISOString() },
      { name: 'duration', value: (run) => (run.endTimeMs !== undefined ? formatDuration(run.endTimeMs - run.startTimeMs) : '–') },
    ],
  );

  const paramKeys = [...new Set(runs.flatMap((run) => Object.keys(run.params)))].sort((a, b) => {
    const differenceOrder = Number(differs(runs.map((run) => run.params[b]))) - Number(differs(runs.map((run) => run.params[a])));
    return differenceOrder !== 0 ? differenceOrder : a.localeCompare(b);
  });
  const paramsTable = table<string>(
    [
      { header: 'param', cell: (key) => (differs(runs.map((run) => run.params[key])) ? html`<strong>${key}</strong>` : key) },
      ...runColumns.map(({ run, label }) => ({ header: label, cell: (key: string) => run.params[key] ?? '–' })),
    ],
    paramKeys,
    { caption: 'params that differ between runs are listed first, in bold' },
  );
  const metricsTable = table<string>(
    [
      { header: 'metric', cell: (key) => key },
      ...runColumns.map(({ run, label }) => ({ header: label, cell: (key: string) => formatNumber(run.metrics[key], 4), numeric: true })),
    ],
    metricKeys,
    { caption: 'latest logged value of each metric' },
  );

  const title = `Comparison of ${runs.length} runs: ${labels.join(', ')}`;
  const content = html`<header class="page"><h1>${title}</h1><div class="meta">from MLflow run data · ${metricKeys.length} metrics · ${paramKeys.length} params</div></header>
<section id="runs"><h2>Runs</h2>${factsTable}</section>
<section id="metrics"><h2>Metrics</h2>${metricsTable}${figures.length > 0 ? html`<div class="plots">${figures}</div>` : ''}${
    omittedHistories > 0 ? html`<div class="notice info">${omittedHistories} more metric histories are not drawn; the table lists their latest values.</div>` : ''
  }</section>
<section id="params"><h2>Params</h2>${paramKeys.length > 0 ? paramsTable : html`<p>No params logged.</p>`}</section>
<footer>Generated by whorl compare. Self-contained: plots are embedded PNG images.</footer>`;
  return { html: page(title, content), images };
}
