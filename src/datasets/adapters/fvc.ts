import { UserInputError } from '../../config/errors';
import fvcSensorTable from '../fvc-sensors.json';
import type { AdapterResult, QuarantineEntry, SourceRecord } from '../records';
import type { SourceFiles } from '../source-files';

/** One database's row in a sensor table. */
export interface SensorTableEntry {
  sensor: string;
  technology?: string;
  model?: string;
  widthPx?: number;
  heightPx?: number;
  dpi?: number;
}

/**
 * Sensor table written beside a data set in FVC layout (`sensors.json` at
 * its root), as the synthetic generator does. Keys are database names such
 * as `DB1`.
 */
export interface SensorTableFile {
  dataset: string;
  description?: string;
  databases: Record<string, SensorTableEntry>;
}

export const SENSOR_TABLE_FILE = 'sensors.json';

/** The published FVC2000–FVC2006 sensor table, keyed `fvcYYYY/DBn`. */
export const FVC_SENSOR_TABLE: Readonly<Record<string, SensorTableEntry>> = fvcSensorTable.databases;

const DATABASE_FOLDER = /^DB([1-9])_([AB])$/i;
const FVC_YEAR_FOLDER = /^fvc(2000|2002|2004|2006)$/i;
const FVC_FILE_NAME = /^(\d+)_(\d+)\.[A-Za-z0-9]+$/;

/** True when any path has a `DBn_A` or `DBn_B` folder, the FVC layout. */
export function looksLikeFvc(paths: string[]): boolean {
  return paths.some((path) => path.split('/').slice(0, -1).some((part) => DATABASE_FOLDER.test(part)));
}

/**
 * Reads the FVC layout: `[fvcYYYY/]DBn_{A,B}/<finger>_<impression>.<ext>`.
 * The year comes from an `fvcYYYY` folder (the root's own name counts) or
 * from `options.dataset`. The sensor comes from `sensors.json` at the root
 * when present, else from the published FVC table. The same file name occurs in every database, so the
 * identity is data set + database number + finger.
 */
export async function readFvcLayout(files: SourceFiles, options: { source: string; dataset?: string }): Promise<AdapterResult> {
  const listing = await files.list();
  const localTable = listing.some((file) => file.path === SENSOR_TABLE_FILE) ? await readSensorTableFile(files) : undefined;
  const records: SourceRecord[] = [];
  const quarantine: QuarantineEntry[] = [];

  for (const file of listing) {
    if (file.path === SENSOR_TABLE_FILE) continue;
    const parts = file.path.split('/');
    const folderIndex = parts.findIndex((part, index) => index < parts.length - 1 && DATABASE_FOLDER.test(part));
    if (folderIndex < 0) {
      quarantine.push({ source: options.source, path: file.path, reason: 'unparsable-name', detail: 'file is not inside a DBn_A or DBn_B folder' });
      continue;
    }
    const [, databaseNumber, set] = DATABASE_FOLDER.exec(parts[folderIndex]) as RegExpExecArray;
    const fileName = parts[parts.length - 1];
    const nameMatch = folderIndex === parts.length - 2 ? FVC_FILE_NAME.exec(fileName) : null;
    if (nameMatch === null) {
      quarantine.push({ source: options.source, path: file.path, reason: 'unparsable-name', detail: `expected <finger>_<impression>.<ext> directly inside ${parts[folderIndex]}, such as 101_1.tif` });
      continue;
    }

    const rootName = files.location.replace(/\/+$/, '').split('/').pop() ?? '';
    const yearFolder = [...parts.slice(0, folderIndex).reverse(), rootName].find((part) => FVC_YEAR_FOLDER.test(part));
    const dataset = (localTable?.dataset ?? yearFolder ?? options.dataset)?.toLowerCase();
    if (dataset === undefined) {
      throw new UserInputError(
        `cannot tell which FVC competition ${files.location}/${file.path} belongs to: put the DBn_X folders inside a folder named fvc2000, fvc2002, fvc2004 or fvc2006, or set the source's dataset option`,
      );
    }
    const database = `DB${databaseNumber}`;
    const entry = localTable !== undefined ? localTable.databases[database] : FVC_SENSOR_TABLE[`${dataset}/${database}`];
    if (entry === undefined) {
      const known = localTable !== undefined ? Object.keys(localTable.databases).join(', ') : Object.keys(FVC_SENSOR_TABLE).join(', ');
      throw new UserInputError(`no sensor known for ${dataset} ${database} (from ${file.path}); known databases: ${known}`);
    }
    records.push({
      dataset,
      database: `${database}_${set.toUpperCase()}`,
      sensor: entry.sensor,
      identity: `${dataset}/${database}/${Number(nameMatch[1])}`,
      impression: Number(nameMatch[2]),
      path: file.path,
    });
  }
  return { records, quarantine };
}

async function readSensorTableFile(files: SourceFiles): Promise<SensorTableFile> {
  const text = Buffer.from(await files.read(SENSOR_TABLE_FILE)).toString('utf8');
  let parsed: Partial<SensorTableFile>;
  try {
    parsed = JSON.parse(text) as Partial<SensorTableFile>;
  } catch (error) {
    throw new UserInputError(`invalid JSON in ${files.location}/${SENSOR_TABLE_FILE}: ${(error as Error).message}`);
  }
  if (typeof parsed.dataset !== 'string' || typeof parsed.databases !== 'object' || parsed.databases === null) {
    throw new UserInputError(`invalid ${files.location}/${SENSOR_TABLE_FILE}: expected {"dataset": "name", "databases": {"DB1": {"sensor": "label"}}}`);
  }
  return parsed as SensorTableFile;
}
