import { stringify as stringifyYaml } from 'yaml';
import {
  formatBytes,
  formatDuration,
  formatNumber,
  formatPercent,
  html,
  isPng,
  join,
  pngImage,
  table,
  type Html,
} from './html';
import type { PlotSection } from './plots';
import type { DataSectionId, RetrievalResult, RunReport, StageRecord } from './run-report';
import { mean, meanAbsoluteOffDiagonal, percentile } from './statistics';

/** A rendered plot ready to embed: its PNG, and its size in CSS pixels. */
export interface Figure {
  name: string;
  section: PlotSection;
  description: string;
  png: Uint8Array;
  widthPx: number;
}

export interface SectionContext {
  report: RunReport;
  figures: Figure[];
}

/** Penetration rate at which the summary quotes the hit rate. */
const SUMMARY_PENETRATION_RATE = 0.1;

function figuresOf(context: SectionContext, section: PlotSection): Html {
  const figures = context.figures.filter((figure) => figure.section === section);
  if (figures.length === 0) return html``;
  return html`<div class="plots">${figures.map(
    (figure) => html`<figure>${pngImage(figure.png, { alt: figure.description, widthPx: figure.widthPx, id: `plot-${figure.name}` })}<figcaption>${figure.description}</figcaption></figure>`,
  )}</div>`;
}

function badge(status: string): Html {
  return html`<span class="badge ${status}">${status}</span>`;
}

function tile(label: string, value: string, detail?: string): Html {
  return html`<div class="tile"><div class="label">${label}</div><div class="value">${value}</div>${detail ? html`<div class="detail">${detail}</div>` : ''}</div>`;
}

function runDurationMs(report: RunReport): number | undefined {
  if (report.finishedAt === undefined) return undefined;
  return Date.parse(report.finishedAt) - Date.parse(report.startedAt);
}

/** Hit rate of a result at a penetration rate, interpolated linearly between measured points. */
export function hitRateAt(result: RetrievalResult, penetrationRate: number): number | undefined {
  const points = [...result.hitRateByPenetration].sort((a, b) => a.penetrationRate - b.penetrationRate);
  if (points.length === 0 || penetrationRate < points[0].penetrationRate || penetrationRate > points[points.length - 1].penetrationRate) return undefined;
  for (let index = 1; index < points.length; index++) {
    const low = points[index - 1];
    const high = points[index];
    if (penetrationRate <= high.penetrationRate) {
      const span = high.penetrationRate - low.penetrationRate;
      return span === 0 ? high.hitRate : low.hitRate + ((high.hitRate - low.hitRate) * (penetrationRate - low.penetrationRate)) / span;
    }
  }
  return points[points.length - 1].hitRate;
}

function problemStages(report: RunReport): StageRecord[] {
  return report.stages.filter((stage) => stage.status === 'failed' || stage.status === 'skipped' || stage.status === 'cancelled');
}

function stageProblemText(stage: StageRecord): string {
  const reason = stage.reason ?? 'no reason recorded';
  return stage.errorType ? `${stage.errorType}: ${reason}` : reason;
}

export function headerSection(report: RunReport): Html {
  const title = report.title ?? `Run ${report.runKey}`;
  const finished = report.finishedAt ? ` · finished ${report.finishedAt}` : '';
  return html`<header class="page"><h1>${title} ${badge(report.status)}</h1><div class="meta">run <code>${report.runKey}</code> · config <code>${report.config.name}</code> · started ${report.startedAt}${finished}</div></header>`;
}

/** Builds the summary block: the few numbers that decide whether a run is good, then each stage that failed or was skipped. */
export function summarySection(report: RunReport): Html {
  const tiles: Html[] = [tile('status', report.status, `${report.stages.length} stages`), tile('duration', formatDuration(runDurationMs(report)))];

  const counts = { succeeded: 0, cached: 0, failed: 0, skipped: 0 };
  for (const stage of report.stages) {
    if (stage.status === 'succeeded' && stage.cacheHit) counts.cached++;
    else if (stage.status === 'succeeded') counts.succeeded++;
    else if (stage.status === 'failed' || stage.status === 'cancelled') counts.failed++;
    else if (stage.status === 'skipped') counts.skipped++;
  }
  tiles.push(tile('stages', `${counts.succeeded + counts.cached} / ${report.stages.length} ok`, `${counts.cached} cached · ${counts.failed} failed · ${counts.skipped} skipped`));

  for (const variant of report.sensorClassification?.variants ?? []) {
    tiles.push(tile(`sensor CCR: ${variant.variant}`, formatPercent(variant.overallCcr), variant.network));
  }

  const results = report.retrieval?.results ?? [];
  if (results.length > 0) {
    const best = results.reduce((a, b) => (b.meanAveragePrecision > a.meanAveragePrecision ? b : a));
    tiles.push(tile('best mAP', formatPercent(best.meanAveragePrecision), `${best.hasher}, ${best.codeLengthBits} bits`));
    const hitRate = hitRateAt(best, SUMMARY_PENETRATION_RATE);
    if (hitRate !== undefined) tiles.push(tile(`hit rate at ${formatPercent(SUMMARY_PENETRATION_RATE, 0)} penetration`, formatPercent(hitRate), `${best.hasher}, ${best.codeLengthBits} bits`));
  }

  const alignment = report.alignment;
  if (alignment !== undefined && alignment.gridErrorAfterPx.length > 0) {
    tiles.push(tile('grid error after alignment', `${formatNumber(mean(alignment.gridErrorAfterPx), 2)} px`, `before: ${formatNumber(mean(alignment.gridErrorBeforePx), 2)} px`));
  }

  const index = report.index;
  if (index !== undefined) {
    const sizeBytes = index.shards.reduce((sum, shard) => sum + shard.sizeBytes, 0);
    tiles.push(tile('index', `${formatNumber(index.codeCount)} codes`, `${index.name} ${index.version} · ${formatBytes(sizeBytes)}`));
    if (index.queryLatencyMs.length > 0) {
      tiles.push(tile('query latency p50', `${formatNumber(percentile(index.queryLatencyMs, 50), 2)} ms`, `p95 ${formatNumber(percentile(index.queryLatencyMs, 95), 2)} ms`));
    }
  }
  tiles.push(tile('quarantined inputs', String(report.quarantine?.length ?? 0)));

  const notices = problemStages(report).map(
    (stage) => html`<div class="notice ${stage.status}"><strong>Stage ${stage.name} ${stage.status}.</strong> ${stageProblemText(stage)}</div>`,
  );
  return html`<section id="summary"><h2>Summary</h2><div class="summary">${tiles}</div>${notices}</section>`;
}

function cacheCell(stage: StageRecord): Html | string {
  if (stage.cacheHit) return badge('cached');
  if (stage.status === 'succeeded') return 'computed';
  return '–';
}

export function stagesSection(report: RunReport): Html {
  const totalMs = report.stages.reduce((sum, stage) => sum + (stage.durationMs ?? 0), 0);
  return html`<section id="stages"><h2>Stages</h2>${table<StageRecord>(
    [
      { header: 'stage', cell: (stage) => html`<code>${stage.name}</code>` },
      { header: 'status', cell: (stage) => badge(stage.status) },
      { header: 'cache', cell: cacheCell },
      { header: 'duration', cell: (stage) => formatDuration(stage.durationMs), numeric: true },
      { header: 'share', cell: (stage) => (stage.durationMs !== undefined && totalMs > 0 ? formatPercent(stage.durationMs / totalMs) : '–'), numeric: true },
      { header: 'reason', cell: (stage) => (stage.reason !== undefined ? stageProblemText(stage) : '') },
    ],
    report.stages,
    { caption: `total stage time ${formatDuration(totalMs)}` },
  )}</section>`;
}

export function versionsSection(report: RunReport): Html {
  const rows: Array<[string, Html | string]> = [
    ['code', html`<code>${report.versions.code}</code>`],
    ['tensor backend', report.versions.backend],
    ...report.versions.models.map((model): [string, Html] => [`model: ${model.stage}`, html`<code>${model.version}</code>${model.location ? html` · <code>${model.location}</code>` : ''}`]),
  ];
  const index = report.versions.index;
  if (index) rows.push(['index', html`<code>${index.name}</code> ${index.version}${index.manifestKey ? html` · <code>${index.manifestKey}</code>` : ''}`]);
  const tracking = report.tracking;
  if (tracking?.runId) rows.push(['MLflow run', html`<code>${tracking.runId}</code>${tracking.trackingUri ? ` at ${tracking.trackingUri}` : ''}`]);
  return html`<section id="versions"><h2>Versions</h2>${table<[string, Html | string]>(
    [
      { header: 'component', cell: (row) => row[0] },
      { header: 'version', cell: (row) => row[1] },
    ],
    rows,
  )}</section>`;
}

export function configSection(report: RunReport): Html {
  const source = report.config.source ? html` from <code>${report.config.source}</code>` : '';
  return html`<section id="config"><h2>Config</h2><p>Config <code>${report.config.name}</code>${source}, as the run resolved it:</p><pre>${stringifyYaml(report.config.values)}</pre></section>`;
}

export function trainingSection(context: SectionContext): Html {
  const histories = context.report.training ?? [];
  const rows = histories.filter((history) => history.epochs.length > 0);
  if (rows.length === 0) return html``;
  const last = (history: (typeof rows)[number]) => history.epochs[history.epochs.length - 1];
  const bestValidation = (history: (typeof rows)[number]) => {
    const losses = history.epochs.filter((epoch) => epoch.validationLoss !== undefined);
    return losses.length === 0 ? undefined : losses.reduce((a, b) => ((b.validationLoss ?? Infinity) < (a.validationLoss ?? Infinity) ? b : a));
  };
  return html`<section id="training"><h2>Training</h2>${table(
    [
      { header: 'network', cell: (history) => history.network },
      { header: 'epochs', cell: (history) => history.epochs.length, numeric: true },
      { header: 'final train loss', cell: (history) => formatNumber(last(history).trainLoss, 4), numeric: true },
      { header: 'final val. loss', cell: (history) => formatNumber(last(history).validationLoss, 4), numeric: true },
      { header: 'best val. loss (epoch)', cell: (history) => { const best = bestValidation(history); return best ? `${formatNumber(best.validationLoss, 4)} (${best.epoch})` : '–'; }, numeric: true },
      { header: 'final val. accuracy', cell: (history) => formatPercent(last(history).validationAccuracy), numeric: true },
    ],
    rows,
  )}${figuresOf(context, 'training')}</section>`;
}

export function sensorSection(context: SectionContext): Html {
  const classification = context.report.sensorClassification;
  if (classification === undefined) return html``;
  const variants = classification.variants;
  const perSensor = table<string>(
    [
      { header: 'sensor', cell: (sensor) => sensor },
      ...variants.map((variant) => ({ header: `CCR ${variant.variant}`, cell: (sensor: string) => formatPercent(variant.ccrPerSensor[sensor]), numeric: true })),
      ...(variants.length === 2
        ? [{ header: `${variants[1].variant} − ${variants[0].variant}`, cell: (sensor: string) => formatPercent((variants[1].ccrPerSensor[sensor] ?? NaN) - (variants[0].ccrPerSensor[sensor] ?? NaN)), numeric: true }]
        : []),
    ],
    classification.sensors,
    { caption: 'correct classification rate per sensor on the test split' },
  );
  const overall = table(
    [
      { header: 'variant', cell: (variant) => variant.variant },
      { header: 'network', cell: (variant) => variant.network ?? '–' },
      { header: 'test images', cell: (variant) => variant.confusionMatrix.flat().reduce((a, b) => a + b, 0), numeric: true },
      { header: 'overall CCR', cell: (variant) => formatPercent(variant.overallCcr, 2), numeric: true },
    ],
    variants,
  );
  const confusionTables = variants.map((variant) =>
    table<number>(
      [
        { header: 'true \\ predicted', cell: (row) => classification.sensors[row] },
        ...classification.sensors.map((sensor, column) => ({ header: sensor, cell: (row: number) => variant.confusionMatrix[row][column], numeric: true })),
      ],
      classification.sensors.map((_, row) => row),
      { caption: `confusion matrix, ${variant.variant} (image counts)` },
    ),
  );
  return html`<section id="sensor"><h2>Sensor classification</h2>${overall}${perSensor}${figuresOf(context, 'sensor')}<h3>Confusion matrices</h3>${confusionTables}</section>`;
}

export function robustnessSection(context: SectionContext): Html {
  const curves = context.report.robustness ?? [];
  if (curves.length === 0) return html``;
  const units = { rotation: '°', occlusion: '%', noise: '%' } as const;
  const variants = [...new Set(curves.map((curve) => curve.variant))];

  // One row per perturbation and level, one CCR column per variant.
  const rows: Array<{ perturbation: keyof typeof units; level: number }> = [];
  for (const perturbation of ['rotation', 'occlusion', 'noise'] as const) {
    const levels = [...new Set(curves.filter((curve) => curve.perturbation === perturbation).flatMap((curve) => curve.points.map((point) => point.level)))];
    rows.push(...levels.sort((a, b) => a - b).map((level) => ({ perturbation, level })));
  }
  const ccrOf = (variant: string, row: (typeof rows)[number]) =>
    curves.find((curve) => curve.variant === variant && curve.perturbation === row.perturbation)?.points.find((point) => point.level === row.level)?.ccr;

  return html`<section id="robustness"><h2>Robustness</h2>${figuresOf(context, 'robustness')}${table(
    [
      { header: 'perturbation', cell: (row) => row.perturbation },
      { header: 'level', cell: (row) => `${row.level}${units[row.perturbation]}`, numeric: true },
      ...variants.map((variant) => ({ header: `CCR ${variant}`, cell: (row: (typeof rows)[number]) => formatPercent(ccrOf(variant, row)), numeric: true })),
    ],
    rows,
    { caption: 'correct classification rate under perturbation' },
  )}</section>`;
}

export function alignmentSection(context: SectionContext): Html {
  const alignment = context.report.alignment;
  if (alignment === undefined) return html``;
  const stats = [
    { phase: 'before alignment', errors: alignment.gridErrorBeforePx },
    { phase: 'after alignment', errors: alignment.gridErrorAfterPx },
  ];
  const overlays = alignment.overlays.map((overlay) =>
    isPng(overlay.png)
      ? html`<figure>${pngImage(overlay.png, { alt: overlay.caption, id: `overlay-${overlay.name}` })}<figcaption>${overlay.caption}</figcaption></figure>`
      : html`<div class="notice skipped">Overlay ${overlay.name} is not a PNG image, so it is not shown.</div>`,
  );
  return html`<section id="alignment"><h2>Alignment</h2>${table(
    [
      { header: 'phase', cell: (row) => row.phase },
      { header: 'pairs', cell: (row) => row.errors.length, numeric: true },
      { header: 'mean error (px)', cell: (row) => formatNumber(mean(row.errors), 2), numeric: true },
      { header: 'median (px)', cell: (row) => formatNumber(percentile(row.errors, 50), 2), numeric: true },
      { header: 'p95 (px)', cell: (row) => formatNumber(percentile(row.errors, 95), 2), numeric: true },
    ],
    stats,
    { caption: 'mean distance of transformed grid points from their true positions, per test pair' },
  )}${figuresOf(context, 'alignment')}${overlays.length > 0 ? html`<h3>Aligned pairs</h3><div class="plots">${overlays}</div>` : ''}</section>`;
}

export function retrievalSection(context: SectionContext): Html {
  const results = context.report.retrieval?.results ?? [];
  if (results.length === 0) return html``;
  const ks = [...new Set(results.flatMap((result) => Object.keys(result.precisionAtK)))].sort((a, b) => Number(a) - Number(b));
  const hashers = [...new Set(results.map((result) => result.hasher))];
  const codeLengths = [...new Set(results.map((result) => result.codeLengthBits))].sort((a, b) => a - b);
  const mapOf = (hasher: string, bits: number) => results.find((result) => result.hasher === hasher && result.codeLengthBits === bits)?.meanAveragePrecision;

  const overview = table<string>(
    [{ header: 'hasher', cell: (hasher) => hasher }, ...codeLengths.map((bits) => ({ header: `${bits} bits`, cell: (hasher: string) => formatPercent(mapOf(hasher, bits), 2), numeric: true }))],
    hashers,
    { caption: 'mean average precision per hasher and code length' },
  );
  const sorted = [...results].sort((a, b) => a.codeLengthBits - b.codeLengthBits || b.meanAveragePrecision - a.meanAveragePrecision);
  const details = table(
    [
      { header: 'code length', cell: (result: RetrievalResult) => `${result.codeLengthBits} bits`, numeric: true },
      { header: 'hasher', cell: (result: RetrievalResult) => result.hasher },
      { header: 'mAP', cell: (result: RetrievalResult) => formatPercent(result.meanAveragePrecision, 2), numeric: true },
      { header: 'rank-1', cell: (result: RetrievalResult) => formatPercent(result.rank1IdentificationRate), numeric: true },
      ...ks.map((k) => ({ header: `P@${k}`, cell: (result: RetrievalResult) => formatPercent(result.precisionAtK[k]), numeric: true })),
      { header: `hit rate at ${formatPercent(SUMMARY_PENETRATION_RATE, 0)}`, cell: (result: RetrievalResult) => formatPercent(hitRateAt(result, SUMMARY_PENETRATION_RATE)), numeric: true },
    ],
    sorted,
    { caption: 'retrieval on the probe split, per code length and hasher' },
  );
  return html`<section id="retrieval"><h2>Retrieval</h2>${overview}${figuresOf(context, 'retrieval')}<h3>Per code length</h3>${details}</section>`;
}

export function codesSection(context: SectionContext): Html {
  const qualities = context.report.codeQuality ?? [];
  if (qualities.length === 0) return html``;
  return html`<section id="codes"><h2>Code quality</h2>${table(
    [
      { header: 'hasher', cell: (quality) => quality.hasher },
      { header: 'code length', cell: (quality) => `${quality.codeLengthBits} bits`, numeric: true },
      { header: 'mean |balance − 0.5|', cell: (quality) => formatNumber(mean(quality.bitBalance.map((share) => Math.abs(share - 0.5))), 3), numeric: true },
      { header: 'worst bit balance', cell: (quality) => formatNumber(quality.bitBalance.reduce((worst, share) => (Math.abs(share - 0.5) > Math.abs(worst - 0.5) ? share : worst), 0.5), 3), numeric: true },
      { header: 'mean |correlation|', cell: (quality) => formatNumber(meanAbsoluteOffDiagonal(quality.bitCorrelation), 3), numeric: true },
    ],
    qualities,
    { caption: 'balanced bits are set in half the codes; uncorrelated bits carry independent information' },
  )}${figuresOf(context, 'codes')}</section>`;
}

export function indexSection(context: SectionContext): Html {
  const index = context.report.index;
  if (index === undefined) return html``;
  const sizeBytes = index.shards.reduce((sum, shard) => sum + shard.sizeBytes, 0);
  const latency = index.queryLatencyMs;
  const rows: Array<[string, string]> = [
    ['index', `${index.name} ${index.version}`],
    ['kind', index.kind],
    ['codes', formatNumber(index.codeCount)],
    ['code length', `${index.codeLengthBits} bits`],
    ['shards', String(index.shards.length)],
    ['size', formatBytes(sizeBytes)],
    ['bytes per code', index.codeCount > 0 ? formatNumber(sizeBytes / index.codeCount, 1) : '–'],
    ['queries timed', String(latency.length)],
    ['latency p50 / p95 / p99', `${formatNumber(percentile(latency, 50), 2)} / ${formatNumber(percentile(latency, 95), 2)} / ${formatNumber(percentile(latency, 99), 2)} ms`],
  ];
  if (index.topK !== undefined) rows.push(['top k', String(index.topK)]);
  return html`<section id="index"><h2>Index</h2><div class="columns">${table<[string, string]>(
    [
      { header: 'property', cell: (row) => row[0] },
      { header: 'value', cell: (row) => row[1] },
    ],
    rows,
  )}${table(
    [
      { header: 'shard', cell: (shard) => shard.name },
      { header: 'codes', cell: (shard) => formatNumber(shard.codeCount), numeric: true },
      { header: 'size', cell: (shard) => formatBytes(shard.sizeBytes), numeric: true },
    ],
    index.shards,
  )}</div>${figuresOf(context, 'index')}</section>`;
}

export function quarantineSection(report: RunReport): Html {
  const items = report.quarantine ?? [];
  const body =
    items.length === 0
      ? html`<p>No input was quarantined.</p>`
      : table(
          [
            { header: 'source', cell: (item) => item.source },
            { header: 'item', cell: (item) => html`<code>${item.item}</code>` },
            { header: 'reason', cell: (item) => item.reason },
          ],
          items,
          { caption: `${items.length} inputs set aside` },
        );
  return html`<section id="quarantine"><h2>Quarantine</h2>${body}</section>`;
}

/**
 * Data sections, and the pattern of stage names whose failure explains a
 * section's absence when a stage does not list its `sections`.
 */
const DATA_SECTIONS: Array<{ id: DataSectionId; title: string; stagePattern: RegExp; present: (report: RunReport) => boolean; turnedOff?: (report: RunReport) => string | undefined }> = [
  { id: 'training', title: 'Training', stagePattern: /train|^hashing$/, present: (report) => (report.training ?? []).some((history) => history.epochs.length > 0) },
  { id: 'sensor', title: 'Sensor classification', stagePattern: /sensor/, present: (report) => report.sensorClassification !== undefined },
  {
    id: 'robustness',
    title: 'Robustness',
    stagePattern: /sensor|robust/,
    present: (report) => (report.robustness ?? []).length > 0,
    turnedOff: (report) =>
      (report.config.values.sensor as { robustness?: unknown } | undefined)?.robustness === false
        ? 'The run config turns the robustness tables off (sensor.robustness: false). Set it to true to evaluate the classifiers under rotation, occlusion and noise.'
        : undefined,
  },
  { id: 'alignment', title: 'Alignment', stagePattern: /align/, present: (report) => report.alignment !== undefined },
  { id: 'retrieval', title: 'Retrieval', stagePattern: /retrieval|hash|encode|index|^evaluate$/, present: (report) => (report.retrieval?.results ?? []).length > 0 },
  { id: 'codes', title: 'Code quality', stagePattern: /hash|encode/, present: (report) => (report.codeQuality ?? []).length > 0 },
  { id: 'index', title: 'Index', stagePattern: /index/, present: (report) => report.index !== undefined },
];

/**
 * Builds a section for data the run did not produce: the config setting
 * that turned it off, or else the failed, skipped or cancelled stages that
 * would have produced it. Returns nothing when neither applies, because then
 * the run never planned that data.
 */
export function missingSection(report: RunReport, id: DataSectionId): Html {
  const definition = DATA_SECTIONS.find((section) => section.id === id);
  if (definition === undefined || definition.present(report)) return html``;
  const turnedOff = definition.turnedOff?.(report);
  if (turnedOff !== undefined) return html`<section id="${id}"><h2>${definition.title}</h2><div class="notice skipped">${turnedOff}</div></section>`;
  const stages = problemStages(report).filter((stage) =>
    stage.sections !== undefined ? stage.sections.includes(definition.id) : definition.stagePattern.test(stage.name),
  );
  if (stages.length === 0) return html``;
  return html`<section id="${id}"><h2>${definition.title}</h2>${stages.map(
    (stage) => html`<div class="notice ${stage.status}">No data: stage <code>${stage.name}</code> ${stage.status}. ${stageProblemText(stage)}</div>`,
  )}</section>`;
}

/** Ids and titles of the sections that the page shows, for the table of contents. */
export function dataSectionTitles(): Array<{ id: DataSectionId; title: string }> {
  return DATA_SECTIONS.map(({ id, title }) => ({ id, title }));
}

export function tableOfContents(entries: Array<{ id: string; title: string }>): Html {
  return html`<nav class="toc">Sections: ${join(entries.map((entry) => html`<a href="#${entry.id}">${entry.title}</a>`))}</nav>`;
}
