import { UserInputError } from '../config/errors';
import { ObjectNotFoundError, type ObjectStore } from '../storage';
import type { MlflowClient, RunInfo } from '../tracking';
import { buildReport, type BuiltReport } from './build-report';
import type { RunReport } from './run-report';
import { parseRunReport, parseRunReportJson, serializeRunReport } from './run-report-json';

/** Object keys of one run's report, all under `reports/<runKey>/`. */
export function reportKeys(runKey: string): { prefix: string; runReport: string; html: string; plot: (name: string, format: 'png' | 'svg') => string } {
  validateRunKey(runKey);
  const prefix = `reports/${runKey}/`;
  return {
    prefix,
    runReport: `${prefix}run-report.json`,
    html: `${prefix}report.html`,
    plot: (name, format) => `${prefix}plots/${name}.${format}`,
  };
}

/** Path of the HTML report among the MLflow run's artifacts. */
export const REPORT_ARTIFACT_PATH = 'report/report.html';

function validateRunKey(runKey: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(runKey)) {
    throw new UserInputError(`invalid run key "${runKey}": expected letters, digits, ".", "_" and "-", starting with a letter or digit`);
  }
}

/** The MLflow client and run that receive a tracked report. */
export interface ReportTracking {
  client: MlflowClient;
  run: RunInfo;
}

export interface PublishedReport {
  /** Object key of the HTML page. */
  htmlKey: string;
  /** Object keys of the plots, PNG and SVG. */
  imageKeys: string[];
  /** URI of the HTML page among the MLflow run's artifacts, when tracking was given. */
  artifactUri?: string;
}

/**
 * Validates a run report and writes it to `reports/<runKey>/run-report.json`,
 * the input that `whorl report <runKey>` rebuilds the page from.
 */
export async function storeRunReport(store: ObjectStore, report: RunReport): Promise<string> {
  const text = serializeRunReport(report);
  parseRunReportJson(text, `for run ${report.runKey}`);
  const key = reportKeys(report.runKey).runReport;
  await store.put(key, text, { contentType: 'application/json' });
  return key;
}

/** Reads and validates `reports/<runKey>/run-report.json`. */
export async function loadRunReport(store: ObjectStore, runKey: string): Promise<RunReport> {
  const key = reportKeys(runKey).runReport;
  let bytes: Uint8Array;
  try {
    bytes = await store.get(key);
  } catch (error) {
    if (error instanceof ObjectNotFoundError) {
      throw new UserInputError(`no run report for run "${runKey}": ${key} not found in ${store.location}; check the run key, or rerun the pipeline so its final stage stores the report`);
    }
    throw error;
  }
  const report = parseRunReportJson(Buffer.from(bytes).toString('utf8'), `${store.location}/${key}`);
  if (report.runKey !== runKey) {
    throw new UserInputError(`run report ${key} names run "${report.runKey}", expected "${runKey}"; the object was written for another run`);
  }
  return report;
}

/**
 * Writes a built report to `reports/<runKey>/`: every plot as PNG and SVG
 * under `plots/`, then `report.html` last, so a reader that finds the page
 * also finds its plots. With `tracking`, also logs the page as an artifact
 * of the MLflow run.
 */
export async function publishReport(store: ObjectStore, runKey: string, report: BuiltReport, tracking?: ReportTracking): Promise<PublishedReport> {
  const keys = reportKeys(runKey);
  const imageKeys: string[] = [];
  for (const [name, image] of Object.entries(report.images)) {
    const pngKey = keys.plot(name, 'png');
    const svgKey = keys.plot(name, 'svg');
    await store.put(pngKey, image.png, { contentType: 'image/png' });
    await store.put(svgKey, image.svg, { contentType: 'image/svg+xml' });
    imageKeys.push(pngKey, svgKey);
  }
  await store.put(keys.html, report.html, { contentType: 'text/html; charset=utf-8' });

  const artifactUri = tracking ? await tracking.client.logArtifact(tracking.run, REPORT_ARTIFACT_PATH, report.html, 'text/html; charset=utf-8') : undefined;
  return { htmlKey: keys.html, imageKeys, artifactUri };
}

/**
 * Runs the pipeline's final step in one call: validates and stores the run
 * report, builds the page and publishes it, to MLflow too when `tracking` is
 * given.
 */
export async function reportRun(store: ObjectStore, report: RunReport, tracking?: ReportTracking): Promise<PublishedReport & { runReportKey: string }> {
  const validated = parseRunReport(JSON.parse(serializeRunReport(report)), `for run ${report.runKey}`);
  const runReportKey = await storeRunReport(store, validated);
  const built = await buildReport(validated);
  const published = await publishReport(store, validated.runKey, built, tracking);
  return { ...published, runReportKey };
}
