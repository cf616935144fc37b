import type { AdapterResult, QuarantineEntry, SourceRecord } from '../records';
import type { SourceFiles } from '../source-files';

/** Sensor labels of the IITK data set, keyed by the prefixes its file names use. */
export const IITK_SENSOR_PREFIXES: Readonly<Record<string, string>> = {
  fut: 'futronic',
  lum: 'lumidigm',
  sec: 'secugen',
};

const PREFIXED_NAME = /^(fut|lum|sec)[_-]?(\d+)(?:[_-](\d+))?(?:\.[A-Za-z0-9]+)?$/i;
const SENSOR_FOLDER = /^(fut|lum|sec)/i;
const SUBJECT_IMPRESSION = /^(.+?)[_-](\d+)(?:\.[A-Za-z0-9]+)?$/;

/** True when file names carry a sensor prefix (`fut3`, `lum1`) or folders are named after the sensors. */
export function looksLikeIitk(paths: string[]): boolean {
  return paths.some((path) => {
    const parts = path.split('/');
    return PREFIXED_NAME.test(parts[parts.length - 1]) || (parts.length >= 2 && SENSOR_FOLDER.test(parts[parts.length - 2]));
  });
}

function stripExtension(name: string): string {
  return name.replace(/\.[A-Za-z0-9]+$/, '');
}

/**
 * Reads IITK-style sets, in either form:
 * - a sensor prefix in the file name: `fut3`, `lum1_2`, `sec6.jpg`
 *   (`<prefix><number>[_<impression>]`);
 * - one folder per sensor: `futronic/12_3.bmp` (`<identity>_<impression>`).
 * Identities are kept per sensor, because the layout does not say whether
 * a number means the same finger on two sensors.
 */
export async function readIitkLayout(files: SourceFiles, options: { source: string; dataset?: string }): Promise<AdapterResult> {
  const dataset = options.dataset ?? 'iitk';
  const records: SourceRecord[] = [];
  const quarantine: QuarantineEntry[] = [];

  for (const file of await files.list()) {
    const parts = file.path.split('/');
    const fileName = parts[parts.length - 1];
    const prefixed = PREFIXED_NAME.exec(fileName);
    if (prefixed !== null) {
      const sensor = IITK_SENSOR_PREFIXES[prefixed[1].toLowerCase()];
      records.push({
        dataset,
        database: '',
        sensor,
        identity: `${dataset}/${sensor}/${Number(prefixed[2])}`,
        impression: prefixed[3] === undefined ? null : Number(prefixed[3]),
        path: file.path,
      });
      continue;
    }
    const folder = parts.length >= 2 ? parts[parts.length - 2] : undefined;
    const folderMatch = folder === undefined ? null : SENSOR_FOLDER.exec(folder);
    if (folderMatch === null) {
      quarantine.push({ source: options.source, path: file.path, reason: 'unparsable-name', detail: 'expected a sensor prefix (fut, lum, sec) in the file name or a sensor folder such as futronic/' });
      continue;
    }
    const sensor = IITK_SENSOR_PREFIXES[folderMatch[1].toLowerCase()];
    const subjectImpression = SUBJECT_IMPRESSION.exec(fileName);
    records.push({
      dataset,
      database: folder ?? '',
      sensor,
      identity: `${dataset}/${sensor}/${subjectImpression === null ? stripExtension(fileName) : subjectImpression[1]}`,
      impression: subjectImpression === null ? null : Number(subjectImpression[2]),
      path: file.path,
    });
  }
  return { records, quarantine };
}
