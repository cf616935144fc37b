import { readFile } from 'node:fs/promises';
import { isAbsolute, posix } from 'node:path';
import { UserInputError } from '../../config/errors';
import { parseCsv } from '../csv';
import type { AdapterResult, QuarantineEntry, SourceRecord } from '../records';
import type { SourceFiles } from '../source-files';

export const DEFAULT_MANIFEST_NAME = 'manifest.csv';
const REQUIRED_COLUMNS = ['path', 'identity', 'sensor'] as const;
const OPTIONAL_COLUMNS = ['impression', 'dataset', 'database'] as const;

/** Example shown when a layout is not recognised or a manifest is invalid. */
export const MANIFEST_EXAMPLE = [
  'path,identity,sensor,impression',
  'scans/alice_index.png,alice-right-index,crossmatch-v300,1',
  'scans/alice_index_2.png,alice-right-index,crossmatch-v300,2',
].join('\n');

/**
 * Returns the path relative to the root, or undefined when it is absolute or
 * climbs out of the root with `..`.
 */
export function resolveInsideRoot(path: string): string | undefined {
  const slashed = path.replace(/\\/g, '/');
  if (slashed === '' || isAbsolute(slashed) || /^[A-Za-z]:/.test(slashed)) return undefined;
  const normalized = posix.normalize(slashed);
  if (normalized === '..' || normalized.startsWith('../') || normalized === '.') return undefined;
  return normalized;
}

async function readManifestText(files: SourceFiles, manifestPath: string): Promise<string> {
  try {
    const bytes = isAbsolute(manifestPath) ? await readFile(manifestPath) : await files.read(manifestPath);
    return Buffer.from(bytes).toString('utf8').replace(/^\uFEFF/, '');
  } catch (error) {
    throw new UserInputError(`cannot read manifest ${manifestPath} (relative paths are inside ${files.location}): ${(error as Error).message}`);
  }
}

/**
 * Reads a CSV manifest with a header row and the columns path, identity,
 * sensor and optionally impression, dataset and database. Paths are
 * relative to the source root; a path that is absolute or escapes the root,
 * or names no file, is quarantined. Identities are prefixed with the data
 * set (the dataset column, else the source name), which keeps them apart
 * from the identities of other data sets.
 */
export async function readCsvManifest(files: SourceFiles, options: { source: string; dataset?: string; manifestPath?: string }): Promise<AdapterResult> {
  const manifestPath = options.manifestPath ?? DEFAULT_MANIFEST_NAME;
  let rows: string[][];
  try {
    rows = parseCsv(await readManifestText(files, manifestPath));
  } catch (error) {
    if (error instanceof SyntaxError) throw new UserInputError(`invalid CSV in manifest ${manifestPath}: ${error.message}`);
    throw error;
  }
  if (rows.length === 0) throw new UserInputError(`manifest ${manifestPath} is empty; expected a header row and one row per image, such as:\n${MANIFEST_EXAMPLE}`);

  const header = rows[0].map((name) => name.trim().toLowerCase());
  const missing = REQUIRED_COLUMNS.filter((column) => !header.includes(column));
  if (missing.length > 0) {
    throw new UserInputError(`manifest ${manifestPath} lacks column(s) ${missing.join(', ')} (found ${header.join(', ')}); expected a header such as:\n${MANIFEST_EXAMPLE}`);
  }
  const unknown = header.filter((name) => !(REQUIRED_COLUMNS as readonly string[]).includes(name) && !(OPTIONAL_COLUMNS as readonly string[]).includes(name));
  if (unknown.length > 0) {
    throw new UserInputError(`manifest ${manifestPath} has unknown column(s) ${unknown.join(', ')}; valid columns are ${[...REQUIRED_COLUMNS, ...OPTIONAL_COLUMNS].join(', ')}`);
  }
  const column = (row: string[], name: string): string => (row[header.indexOf(name)] ?? '').trim();

  const existing = new Set((await files.list()).map((file) => file.path));
  const records: SourceRecord[] = [];
  const quarantine: QuarantineEntry[] = [];
  const defaultDataset = options.dataset ?? options.source;

  for (let rowIndex = 1; rowIndex < rows.length; rowIndex++) {
    const row = rows[rowIndex];
    const rawPath = column(row, 'path');
    const lineLabel = `manifest row ${rowIndex + 1}`;
    const path = resolveInsideRoot(rawPath);
    if (path === undefined) {
      quarantine.push({ source: options.source, path: rawPath, reason: 'path-outside-root', detail: `${lineLabel}: path must be relative to the source root and stay inside it` });
      continue;
    }
    const identity = column(row, 'identity');
    const sensor = column(row, 'sensor');
    const impressionText = column(row, 'impression');
    const impression = impressionText === '' ? null : Number(impressionText);
    if (identity === '' || sensor === '' || (impression !== null && !Number.isInteger(impression))) {
      quarantine.push({ source: options.source, path, reason: 'unparsable-name', detail: `${lineLabel}: expected non-empty identity and sensor and an integer impression, got identity "${identity}", sensor "${sensor}", impression "${impressionText}"` });
      continue;
    }
    if (!existing.has(path)) {
      quarantine.push({ source: options.source, path, reason: 'missing-file', detail: `${lineLabel}: no such file in ${files.location}` });
      continue;
    }
    const dataset = column(row, 'dataset') || defaultDataset;
    records.push({ dataset, database: column(row, 'database'), sensor, identity: `${dataset}/${identity}`, impression, path });
  }
  return { records, quarantine };
}
