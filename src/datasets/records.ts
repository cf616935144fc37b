/** A labelled image file found by a dataset adapter, before decoding. */
export interface SourceRecord {
  /** Data set name, such as `fvc2002`, `iitk` or a manifest's dataset column. */
  dataset: string;
  /** Sub-collection inside the data set, such as `DB1_B`; empty when the data set has none. */
  database: string;
  /** Sensor label used by the sensor classifier, such as `identix-touchview-ii`. */
  sensor: string;
  /** Finger identity, unique across data sets, such as `fvc2002/DB1/102`. */
  identity: string;
  /** Impression number of the finger, or null when the layout has none. */
  impression: number | null;
  /** Path of the file relative to the source root, with `/` separators. */
  path: string;
}

/** Reason a file was left out of the prepared data. */
export type QuarantineReason =
  | 'empty-file'
  | 'truncated'
  | 'corrupt'
  | 'unsupported-format'
  | 'oversized'
  | 'exceeds-fixed-scale-reference'
  | 'duplicate-identity'
  | 'unparsable-name'
  | 'path-outside-root'
  | 'missing-file'
  | 'unreadable';

export interface QuarantineEntry {
  /** Source name from the config. */
  source: string;
  /** Path relative to the source root, or the path as written in a manifest. */
  path: string;
  reason: QuarantineReason;
  detail: string;
}

/** Adapter output: records to prepare and files it already rejected. */
export interface AdapterResult {
  records: SourceRecord[];
  quarantine: QuarantineEntry[];
}
