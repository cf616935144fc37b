import { strict as assert } from 'node:assert';
import { UserInputError } from '../../src/config/errors';
import { buildReport, parseRunReportJson, serializeRunReport, type BuiltReport, type RunReport } from '../../src/reports';
import { isPng } from '../../src/reports/html';
import { planPlots } from '../../src/reports/plots';
import { hitRateAt } from '../../src/reports/sections';
import { fixtureFailedRunReport, fixtureRunReport } from './fixtures';

/** Builds the smallest valid run report, in which no stage produced any data. */
function emptyRunReport(): RunReport {
  return {
    formatVersion: 1,
    runKey: 'empty-run',
    status: 'running',
    startedAt: '2026-12-04T18:00:00.000Z',
    config: { name: 'demo', values: {} },
    versions: { code: 'abc1234', backend: 'cpu', models: [] },
    stages: [{ name: 'prepare', status: 'running' }],
  };
}

function sectionIds(html: string): string[] {
  return [...html.matchAll(/<section id="([^"]+)"/g)].map((match) => match[1]);
}

function parseError(report: unknown): UserInputError {
  try {
    parseRunReportJson(JSON.stringify(report), 'test input');
  } catch (error) {
    assert.ok(error instanceof UserInputError, `expected UserInputError, got ${(error as Error).name}`);
    return error;
  }
  assert.fail('expected the run report to be rejected');
}

describe('run report JSON', () => {
  it('round-trips a complete report', () => {
    const report = fixtureRunReport();
    const parsed = parseRunReportJson(serializeRunReport(report), 'fixture');
    assert.deepEqual(parsed, report);
    assert.ok(parsed.alignment?.overlays[0].png instanceof Uint8Array);
  });

  it('stores overlay PNGs as base64 text', () => {
    const text = serializeRunReport(fixtureRunReport());
    const overlay = (JSON.parse(text) as { alignment: { overlays: Array<{ png: unknown }> } }).alignment.overlays[0];
    assert.equal(typeof overlay.png, 'string');
    assert.ok(isPng(Buffer.from(overlay.png as string, 'base64')));
  });

  const invalidCases: Array<{ name: string; change: (report: Record<string, unknown>) => void; field: RegExp }> = [
    { name: 'an unknown format version', change: (report) => (report.formatVersion = 2), field: /formatVersion/ },
    { name: 'a run key with a slash', change: (report) => (report.runKey = '../other'), field: /runKey/ },
    { name: 'a timestamp without a zone', change: (report) => (report.startedAt = '2026-12-04 18:00'), field: /startedAt/ },
    { name: 'an unknown stage status', change: (report) => ((report.stages as Array<Record<string, unknown>>)[0].status = 'done'), field: /stages\.0\.status/ },
    { name: 'a misspelt field', change: (report) => (report.quarantined = []), field: /quarantined/ },
    {
      name: 'a CCR above one',
      change: (report) => ((report.sensorClassification as { variants: Array<{ overallCcr: number }> }).variants[0].overallCcr = 91),
      field: /sensorClassification\.variants\.0\.overallCcr/,
    },
    {
      name: 'a confusion matrix of the wrong size',
      change: (report) => (report.sensorClassification as { variants: Array<{ confusionMatrix: number[][] }> }).variants[1].confusionMatrix.pop(),
      field: /sensorClassification\.variants\.1\.confusionMatrix: expected a 6×6 matrix/,
    },
    {
      name: 'a bit balance of the wrong length',
      change: (report) => (report.codeQuality as Array<{ bitBalance: number[] }>)[0].bitBalance.push(0.5),
      field: /codeQuality\.0\.bitBalance: expected 64 values/,
    },
  ];
  for (const { name, change, field } of invalidCases) {
    it(`rejects ${name}`, () => {
      const report = JSON.parse(serializeRunReport(fixtureRunReport())) as Record<string, unknown>;
      change(report);
      const error = parseError(report);
      assert.match(error.message, /^invalid run report test input:/);
      assert.match(error.message, field);
    });
  }

  it('rejects text that is not JSON', () => {
    assert.throws(() => parseRunReportJson('{"formatVersion": 1,', 'run-report.json'), /invalid run report run-report.json: not JSON/);
  });
});

describe('buildReport', function () {
  this.timeout(60_000);
  let complete: BuiltReport;

  before(async () => {
    complete = await buildReport(fixtureRunReport());
  });

  it('renders every planned plot to SVG and PNG', () => {
    const expected = [
      'training-sensor-shallow',
      'training-sensor-deep',
      'training-alignment',
      'training-hashing',
      'ccr-per-sensor',
      'confusion-shallow',
      'confusion-deep',
      'robustness-rotation',
      'robustness-occlusion',
      'robustness-noise',
      'alignment-grid-error',
      'precision-recall',
      'map-vs-code-length',
      'hit-rate-vs-penetration',
      'bit-balance-dh-64',
      'bit-correlation-dh-64',
      'index-shard-size',
      'query-latency',
    ];
    assert.deepEqual(Object.keys(complete.images), expected);
    for (const [name, image] of Object.entries(complete.images)) {
      assert.match(image.svg, /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/, `${name} SVG`);
      assert.ok(isPng(image.png), `${name} PNG signature`);
      assert.ok(image.png.length > 2000, `${name} PNG is only ${image.png.length} bytes`);
    }
  });

  it('embeds every plot as a data URI', () => {
    for (const [name, image] of Object.entries(complete.images)) {
      assert.ok(complete.html.includes(`id="plot-${name}" src="data:image/png;base64,${Buffer.from(image.png).toString('base64')}"`), `plot ${name} not embedded`);
    }
  });

  it('loads nothing from outside the page', () => {
    assert.doesNotMatch(complete.html, /<script|<link|<iframe|@import|url\(/i);
    assert.doesNotMatch(complete.html, /\s(src|href)="(?!data:|#)/);
    assert.match(complete.html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:;/);
  });

  it('orders sections with the summary first', () => {
    assert.deepEqual(sectionIds(complete.html), ['summary', 'stages', 'versions', 'config', 'training', 'sensor', 'robustness', 'alignment', 'retrieval', 'codes', 'index', 'quarantine']);
  });

  it('shows headline numbers in the summary', () => {
    const summary = complete.html.slice(complete.html.indexOf('<section id="summary">'), complete.html.indexOf('<section id="stages">'));
    const report = fixtureRunReport();
    const deep = report.sensorClassification?.variants.find((variant) => variant.variant === 'deep');
    assert.ok(summary.includes(`${((deep?.overallCcr ?? 0) * 100).toFixed(1)}%`), 'deep CCR missing');
    assert.match(summary, /best mAP<\/div><div class="value">\d+\.\d%<\/div><div class="detail">DH, 128 bits/);
    assert.match(summary, /quarantined inputs<\/div><div class="value">2</);
    assert.doesNotMatch(summary, /class="notice/);
  });

  it('tabulates robustness with a column per variant', () => {
    const robustness = complete.html.slice(complete.html.indexOf('<section id="robustness">'), complete.html.indexOf('<section id="alignment">'));
    assert.match(robustness, /<th>perturbation<\/th><th class="num">level<\/th><th class="num">CCR shallow<\/th><th class="num">CCR deep<\/th>/);
    assert.match(robustness, /<td>rotation<\/td><td class="num">45°<\/td><td class="num">55\.0%<\/td><td class="num">75\.4%<\/td>/);
  });

  it('tabulates mAP per hasher and code length', () => {
    const retrieval = complete.html.slice(complete.html.indexOf('<section id="retrieval">'), complete.html.indexOf('<section id="codes">'));
    assert.match(retrieval, /<th>hasher<\/th><th class="num">16 bits<\/th><th class="num">32 bits<\/th><th class="num">64 bits<\/th><th class="num">128 bits<\/th>/);
    assert.equal((retrieval.match(/<td>DH<\/td>/g) ?? []).length, 5, 'DH appears once in the overview and once per code length');
  });

  it('keeps only the sections a run without data has', async () => {
    const built = await buildReport(emptyRunReport());
    assert.deepEqual(sectionIds(built.html), ['summary', 'stages', 'versions', 'config', 'quarantine']);
    assert.deepEqual(built.images, {});
    assert.match(built.html, /No input was quarantined/);
  });

  it('names failed and skipped stages where data is missing', async () => {
    const built = await buildReport(fixtureFailedRunReport());
    assert.deepEqual(sectionIds(built.html), ['summary', 'stages', 'versions', 'config', 'training', 'sensor', 'robustness', 'alignment', 'retrieval', 'codes', 'index', 'quarantine']);
    const sensor = built.html.slice(built.html.indexOf('<section id="sensor">'), built.html.indexOf('<section id="robustness">'));
    assert.match(sensor, /No data: stage <code>train-sensor-deep<\/code> failed\. TrainingDivergedError: validation loss became NaN/);
    assert.match(sensor, /No data: stage <code>evaluate-sensor<\/code> skipped\. an upstream stage failed: train-sensor-deep/);
    const index = built.html.slice(built.html.indexOf('<section id="index">'));
    assert.match(index, /No data: stage <code>build-index<\/code> skipped/);
    assert.ok(!('ccr-per-sensor' in built.images));
    assert.ok('training-sensor-shallow' in built.images);
    assert.ok('alignment-grid-error' in built.images);
  });

  it('follows the sections a stage lists', async () => {
    const report = emptyRunReport();
    report.stages = [
      { name: 'publish-version', status: 'failed', reason: 'conditional write failed', sections: ['index'] },
      { name: 'train-everything', status: 'skipped', reason: 'disabled in config', sections: [] },
    ];
    const built = await buildReport(report);
    assert.deepEqual(sectionIds(built.html), ['summary', 'stages', 'versions', 'config', 'index', 'quarantine']);
    assert.match(built.html, /No data: stage <code>publish-version<\/code> failed\. conditional write failed/);
  });

  it('escapes text from the run', async () => {
    const report = emptyRunReport();
    report.stages = [{ name: 'prepare', status: 'failed', reason: '<img src=x onerror=alert(1)> in "17_4.tif"' }];
    report.quarantine = [{ source: 'csv', item: '<script>', reason: 'a & b' }];
    const built = await buildReport(report);
    assert.ok(built.html.includes('&lt;img src=x onerror=alert(1)&gt; in &quot;17_4.tif&quot;'));
    assert.ok(built.html.includes('<code>&lt;script&gt;</code>'));
    assert.doesNotMatch(built.html, /<img src=x/);
  });

  it('reports an overlay that is not a PNG', async () => {
    const report = emptyRunReport();
    report.alignment = { gridErrorBeforePx: [5], gridErrorAfterPx: [1], overlays: [{ name: 'pair-9', caption: 'bad', png: new Uint8Array([1, 2, 3]) }] };
    const built = await buildReport(report);
    assert.match(built.html, /Overlay pair-9 is not a PNG image, so it is not shown/);
  });

  it('names repeated plots apart', async () => {
    const report = emptyRunReport();
    const epochs = [{ epoch: 1, trainLoss: 1 }, { epoch: 2, trainLoss: 0.5 }];
    report.training = [{ network: 'sensor deep', epochs }, { network: 'sensor-deep', epochs }];
    const built = await buildReport(report);
    assert.deepEqual(Object.keys(built.images), ['training-sensor-deep', 'training-sensor-deep-2']);
  });
});

describe('report plots and tables', () => {
  it('limits the bit-correlation heat map to 64 bits', () => {
    const report = emptyRunReport();
    const bits = 128;
    report.codeQuality = [{ hasher: 'ITQ', codeLengthBits: bits, bitBalance: new Array(bits).fill(0.5), bitCorrelation: Array.from({ length: bits }, () => new Array(bits).fill(0)) }];
    const heatMap = planPlots(report).find((plot) => plot.name === 'bit-correlation-itq-128');
    assert.ok(heatMap);
    assert.match(heatMap.description, /bits 0–63 of 128/);
    const values = (heatMap.spec as { data: { values: unknown[] } }).data.values;
    assert.equal(values.length, 64 * 64);
  });

  const hitRateCases = [
    { penetrationRate: 0.1, expected: 0.5 },
    { penetrationRate: 0.15, expected: 0.6 },
    { penetrationRate: 0.2, expected: 0.7 },
    { penetrationRate: 0.05, expected: undefined },
  ];
  for (const { penetrationRate, expected } of hitRateCases) {
    it(`interpolates the hit rate at ${penetrationRate}`, () => {
      const result = {
        hasher: 'DH',
        codeLengthBits: 64,
        meanAveragePrecision: 0.5,
        precisionAtK: {},
        precisionRecall: [],
        hitRateByPenetration: [
          { penetrationRate: 0.2, hitRate: 0.7 },
          { penetrationRate: 0.1, hitRate: 0.5 },
        ],
      };
      const actual = hitRateAt(result, penetrationRate);
      if (expected === undefined) assert.equal(actual, undefined);
      else assert.ok(actual !== undefined && Math.abs(actual - expected) < 1e-12, `got ${actual}`);
    });
  }
});
