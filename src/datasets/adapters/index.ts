import { UserInputError } from '../../config/errors';
import type { AdapterResult } from '../records';
import type { SourceFiles } from '../source-files';
import { DEFAULT_MANIFEST_NAME, MANIFEST_EXAMPLE, readCsvManifest } from './csv-manifest';
import { looksLikeFvc, readFvcLayout } from './fvc';
import { looksLikeIitdMolf, readIitdMolfLayout } from './iitd-molf';
import { looksLikeIitk, readIitkLayout } from './iitk';

export type DatasetLayout = 'fvc' | 'iitk' | 'iitd-molf' | 'manifest';
export const DATASET_LAYOUTS: readonly DatasetLayout[] = ['fvc', 'iitk', 'iitd-molf', 'manifest'];

export interface AdapterOptions {
  /** Source name from the config, recorded in quarantine entries. */
  source: string;
  /** Data set name to record; each layout has a default. */
  dataset?: string;
  /** CSV manifest path for the manifest layout: relative to the root, or absolute. */
  manifestPath?: string;
}

/**
 * Recognises a layout from file paths alone: a root manifest.csv, FVC
 * database folders, IITD-MOLF sensor folders, then IITK sensor prefixes.
 * Raises UserInputError listing what was found when nothing matches.
 */
export function detectLayout(paths: string[], location: string): DatasetLayout {
  if (paths.includes(DEFAULT_MANIFEST_NAME)) return 'manifest';
  if (looksLikeFvc(paths)) return 'fvc';
  if (looksLikeIitdMolf(paths)) return 'iitd-molf';
  if (looksLikeIitk(paths)) return 'iitk';

  const topLevel = [...new Set(paths.map((path) => (path.includes('/') ? path.split('/')[0] + '/' : path)))];
  const summary = topLevel.slice(0, 12).join(', ') + (topLevel.length > 12 ? `, … (${topLevel.length} entries)` : '');
  throw new UserInputError(
    [
      `unrecognised dataset layout in ${location}: found ${paths.length} file(s); top level: ${summary || '(empty)'}.`,
      'Known layouts: FVC (DB1_A … DB4_B folders with <finger>_<impression> files), IITD-MOLF (Lumidigm, Secugen, CrossMatch or Latent folders),',
      'IITK (sensor prefixes fut, lum, sec in file names or folders). For anything else write a CSV manifest',
      `named ${DEFAULT_MANIFEST_NAME} at the root (or set the source's manifest option), with paths relative to the root:`,
      MANIFEST_EXAMPLE,
    ].join('\n'),
  );
}

/** Lists a source and labels its files with the given layout, or the detected one for `auto`. */
export async function readDatasetLayout(files: SourceFiles, layout: DatasetLayout | 'auto', options: AdapterOptions): Promise<AdapterResult & { layout: DatasetLayout }> {
  const resolved = layout === 'auto' ? detectLayout((await files.list()).map((file) => file.path), files.location) : layout;
  switch (resolved) {
    case 'fvc':
      return { layout: resolved, ...(await readFvcLayout(files, options)) };
    case 'iitk':
      return { layout: resolved, ...(await readIitkLayout(files, options)) };
    case 'iitd-molf':
      return { layout: resolved, ...(await readIitdMolfLayout(files, options)) };
    case 'manifest':
      return { layout: resolved, ...(await readCsvManifest(files, options)) };
  }
}

export { readFvcLayout, FVC_SENSOR_TABLE, SENSOR_TABLE_FILE, type SensorTableFile, type SensorTableEntry } from './fvc';
export { readIitkLayout, IITK_SENSOR_PREFIXES } from './iitk';
export { readIitdMolfLayout } from './iitd-molf';
export { readCsvManifest, resolveInsideRoot, MANIFEST_EXAMPLE, DEFAULT_MANIFEST_NAME } from './csv-manifest';
