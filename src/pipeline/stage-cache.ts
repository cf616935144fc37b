import { compareKeys, sha256Hex, type ObjectStore } from '../storage';

/**
 * Everything a stage's output depends on. Two runs with equal keys produce
 * the same output, so the second can reuse the first's.
 */
export interface StageKeyInput {
  stage: string;
  /** Bumped by hand whenever the stage's code changes what it writes. */
  codeVersion: number;
  /** The stage's own config section, seeds included. */
  config: unknown;
  /** Content hashes of the stage's inputs, by input name. */
  inputs: Record<string, string>;
}

export interface StageResult<T> {
  stage: string;
  key: string;
  /** Prefix under which the stage wrote its outputs. */
  prefix: string;
  cached: boolean;
  output: T;
}

const RESULT_FILE = 'stage-result.json';

/** Serializes JSON with object keys sorted at every depth, so equal values hash equally. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => compareKeys(a, b));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Returns the content hash that names a stage's output prefix. */
export function stageKey(input: StageKeyInput): string {
  return sha256Hex(canonicalJson(input)).slice(0, 24);
}

export function stagePrefix(stage: string, key: string): string {
  return `stages/${stage}/${key}/`;
}

/**
 * Runs a stage unless a finished output with the same key exists. The stage
 * writes its outputs under the prefix first and the result record last. So a
 * stage that died half-way has no record, and it runs again.
 */
export async function runCachedStage<T>(
  store: ObjectStore,
  keyInput: StageKeyInput,
  run: (prefix: string) => Promise<T>,
): Promise<StageResult<T>> {
  const key = stageKey(keyInput);
  const prefix = stagePrefix(keyInput.stage, key);
  const existing = await store.head(prefix + RESULT_FILE);
  if (existing !== undefined) {
    const record = JSON.parse(Buffer.from(await store.get(prefix + RESULT_FILE)).toString('utf8')) as { output: T };
    return { stage: keyInput.stage, key, prefix, cached: true, output: record.output };
  }
  const output = await run(prefix);
  const record = { stage: keyInput.stage, key, keyInput, finishedAt: new Date().toISOString(), output };
  await store.put(prefix + RESULT_FILE, JSON.stringify(record, null, 2), { contentType: 'application/json' });
  return { stage: keyInput.stage, key, prefix, cached: false, output };
}
