import type { AdapterResult, QuarantineEntry, SourceRecord } from '../records';
import type { SourceFiles } from '../source-files';

/** Keywords in IITD-MOLF folder names and the sensor label each one maps to. */
export const MOLF_SENSOR_KEYWORDS: ReadonlyArray<readonly [RegExp, string]> = [
  [/lumidigm/i, 'lumidigm'],
  [/secugen/i, 'secugen'],
  [/cross ?match/i, 'crossmatch'],
  [/simultaneous/i, 'latent-simultaneous'],
  [/latent/i, 'latent'],
];

const NUMBERED_NAME = /^(\d+)[_-](\d+)(?:[_-](\d+))?\.[A-Za-z0-9]+$/;

function sensorOfFolder(folder: string): string | undefined {
  return MOLF_SENSOR_KEYWORDS.find(([pattern]) => pattern.test(folder))?.[1];
}

/** True when a top-level folder names a MOLF sensor (Lumidigm, Secugen, CrossMatch or latent). */
export function looksLikeIitdMolf(paths: string[]): boolean {
  return paths.some((path) => path.includes('/') && sensorOfFolder(path.split('/')[0]) !== undefined && !/^(fut|lum|sec)\d/i.test(path.split('/').pop() ?? ''));
}

/**
 * Reads IITD-MOLF: one top-level folder per capture device whose name
 * contains the sensor (`DB1_Lumidigm`, `Secugen`, `CrossMatch`, `Latent`,
 * `Simultaneous_Latent`), files `<subject>_<finger>_<impression>.<ext>` or
 * `<finger>_<impression>.<ext>` anywhere below it.
 */
// NOTE: no IITD-MOLF sample was available while writing this, so the file naming is assumed from the data set's description; check a real copy.
export async function readIitdMolfLayout(files: SourceFiles, options: { source: string; dataset?: string }): Promise<AdapterResult> {
  const dataset = options.dataset ?? 'iitd-molf';
  const records: SourceRecord[] = [];
  const quarantine: QuarantineEntry[] = [];

  for (const file of await files.list()) {
    const parts = file.path.split('/');
    const sensor = parts.length >= 2 ? sensorOfFolder(parts[0]) : undefined;
    const nameMatch = NUMBERED_NAME.exec(parts[parts.length - 1]);
    if (sensor === undefined || nameMatch === null) {
      quarantine.push({
        source: options.source,
        path: file.path,
        reason: 'unparsable-name',
        detail: 'expected <sensor folder>/…/<subject>_<finger>_<impression>.<ext> with a sensor folder named after Lumidigm, Secugen, CrossMatch or Latent',
      });
      continue;
    }
    const hasSubject = nameMatch[3] !== undefined;
    const identity = hasSubject ? `${Number(nameMatch[1])}-${Number(nameMatch[2])}` : `${Number(nameMatch[1])}`;
    records.push({
      dataset,
      database: parts[0],
      sensor,
      identity: `${dataset}/${identity}`,
      impression: Number(hasSubject ? nameMatch[3] : nameMatch[2]),
      path: file.path,
    });
  }
  return { records, quarantine };
}
