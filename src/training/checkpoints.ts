import { sha256Hex, type ObjectStore } from '../storage';

/** Name of the object a checkpoint writes last; a checkpoint without it is incomplete and ignored. */
export const CHECKPOINT_MANIFEST = 'manifest.json';

/** Name of the loop's own state file inside every checkpoint. */
export const LOOP_STATE_FILE = 'loop-state.json';

export const CHECKPOINT_FORMAT = 'whorl.checkpoint/v1';

/** Metrics of one finished epoch, as logged to MLflow and kept in every later checkpoint. */
export interface EpochRecord {
  epoch: number;
  /** Mean of the training losses of the epoch's batches. */
  loss: number;
  /** Means of the batch metrics, plus the evaluation metrics under their own names. */
  metrics: Record<string, number>;
  durationMs: number;
}

export interface CheckpointManifest {
  format: typeof CHECKPOINT_FORMAT;
  runKey: string;
  stage: string;
  /** Zero-based index of the epoch whose end this checkpoint records. */
  epoch: number;
  createdAt: string;
  files: Array<{ name: string; sizeBytes: number; sha256: string }>;
  /** Every finished epoch up to and including this one. */
  history: EpochRecord[];
}

export interface Checkpoint {
  manifest: CheckpointManifest;
  /** Files by name, including the loop's own state file. */
  files: Record<string, Uint8Array>;
}

/** Returns `checkpoints/<runKey>/<stage>/`, the prefix under which a run's stage keeps its checkpoints. */
export function checkpointRoot(runKey: string, stage: string): string {
  for (const [name, value] of [
    ['runKey', runKey],
    ['stage', stage],
  ] as const) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(value)) {
      throw new Error(`invalid ${name} "${value}": expected letters, digits, ".", "_" or "-", starting with a letter or digit`);
    }
  }
  return `checkpoints/${runKey}/${stage}/`;
}

/** Returns the prefix of one epoch's checkpoint, such as `checkpoints/run-1/sensor/epoch-0003/`. */
export function checkpointPrefix(runKey: string, stage: string, epoch: number): string {
  return `${checkpointRoot(runKey, stage)}epoch-${String(epoch).padStart(4, '0')}/`;
}

/**
 * Writes one checkpoint: every data file first, the manifest last, so a
 * reader that finds the manifest finds every file it lists.
 */
export async function writeCheckpoint(
  store: ObjectStore,
  options: { runKey: string; stage: string; epoch: number; files: Record<string, Uint8Array>; history: EpochRecord[] },
): Promise<CheckpointManifest> {
  const prefix = checkpointPrefix(options.runKey, options.stage, options.epoch);
  const entries: CheckpointManifest['files'] = [];
  for (const [name, body] of Object.entries(options.files)) {
    if (name === CHECKPOINT_MANIFEST || name.includes('/') || name.length === 0) {
      throw new Error(`invalid checkpoint file name "${name}": expected a plain file name other than ${CHECKPOINT_MANIFEST}`);
    }
    await store.put(prefix + name, body, { contentType: 'application/octet-stream' });
    entries.push({ name, sizeBytes: body.byteLength, sha256: sha256Hex(body) });
  }

  const manifest: CheckpointManifest = {
    format: CHECKPOINT_FORMAT,
    runKey: options.runKey,
    stage: options.stage,
    epoch: options.epoch,
    createdAt: new Date().toISOString(),
    files: entries,
    history: options.history,
  };
  await store.put(prefix + CHECKPOINT_MANIFEST, JSON.stringify(manifest, null, 2), { contentType: 'application/json' });
  return manifest;
}

/** Lists the epochs that have a manifest under the run's stage, newest first. */
export async function listCheckpointEpochs(store: ObjectStore, runKey: string, stage: string): Promise<number[]> {
  const root = checkpointRoot(runKey, stage);
  const epochs: number[] = [];
  for (const object of await store.list(root)) {
    const match = /^epoch-(\d+)\/manifest\.json$/.exec(object.key.slice(root.length));
    if (match !== null) epochs.push(Number(match[1]));
  }
  return epochs.sort((a, b) => b - a);
}

/** Reads one checkpoint and checks that every listed file is present with the recorded checksum. */
export async function readCheckpoint(store: ObjectStore, runKey: string, stage: string, epoch: number): Promise<Checkpoint> {
  const prefix = checkpointPrefix(runKey, stage, epoch);
  const manifest = JSON.parse(Buffer.from(await store.get(prefix + CHECKPOINT_MANIFEST)).toString('utf8')) as CheckpointManifest;
  if (manifest.format !== CHECKPOINT_FORMAT) {
    throw new Error(`unsupported checkpoint format "${String(manifest.format)}" in ${prefix}: expected ${CHECKPOINT_FORMAT}`);
  }

  const files: Record<string, Uint8Array> = {};
  for (const entry of manifest.files) {
    const body = await store.get(prefix + entry.name);
    const actual = sha256Hex(body);
    if (actual !== entry.sha256) {
      throw new Error(`checkpoint file ${prefix}${entry.name} has SHA-256 ${actual}, but its manifest records ${entry.sha256}`);
    }
    files[entry.name] = body;
  }
  return { manifest, files };
}

/**
 * Returns the newest checkpoint that reads back whole, or undefined when the
 * stage has none. A checkpoint with a missing or corrupt file is skipped and
 * reported through `onSkipped`, so a crash during a write falls back to the
 * previous epoch.
 */
export async function findLatestCheckpoint(
  store: ObjectStore,
  runKey: string,
  stage: string,
  onSkipped?: (epoch: number, error: Error) => void,
): Promise<Checkpoint | undefined> {
  for (const epoch of await listCheckpointEpochs(store, runKey, stage)) {
    try {
      return await readCheckpoint(store, runKey, stage, epoch);
    } catch (error) {
      onSkipped?.(epoch, error as Error);
    }
  }
  return undefined;
}

/** Deletes every checkpoint of the stage except the newest `keep`. */
export async function pruneCheckpoints(store: ObjectStore, runKey: string, stage: string, keep: number): Promise<void> {
  const epochs = await listCheckpointEpochs(store, runKey, stage);
  for (const epoch of epochs.slice(keep)) {
    const prefix = checkpointPrefix(runKey, stage, epoch);
    const objects = await store.list(prefix);

    // The manifest goes first, so a half-deleted checkpoint is never taken for a complete one.
    await store.delete(prefix + CHECKPOINT_MANIFEST);
    for (const object of objects) {
      if (object.key !== prefix + CHECKPOINT_MANIFEST) await store.delete(object.key);
    }
  }
}
