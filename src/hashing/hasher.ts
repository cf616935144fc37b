import { UserInputError } from '../config/errors';
import type { Logger } from '../logging';
import type { CodeLengthBits, PackedCodes } from './codes';
import type { FeatureMatrix } from './feature-matrix';

/** Hasher kinds that createHasher builds. */
export const HASHER_KINDS = ['dh', 'supervised-dh', 'lsh', 'sblsh', 'pcah', 'itq', 'sh'] as const;

export type HasherKind = (typeof HASHER_KINDS)[number];

export interface TrainOptions {
  /**
   * Class or identity label of each training row. Required by supervised-dh,
   * which treats rows with equal labels as impressions of the same finger;
   * the unsupervised hashers ignore it.
   */
  labels?: ArrayLike<number>;
  logger?: Logger;
}

export interface TrainReport {
  kind: HasherKind;
  codeLengthBits: CodeLengthBits;
  trainingRowCount: number;
  durationMs: number;
  /** Objective value after each iteration or epoch. Empty for hashers without iterations. */
  lossHistory: number[];
}

/**
 * A learned (or random) map from feature vectors to binary codes.
 *
 * Lifecycle: create with createHasher, `train` once, then `encode` any number
 * of times. `save` returns a JSON-compatible object, and loadHasher turns it
 * back into a hasher that produces identical codes. `encode` before `train`
 * raises UserInputError.
 */
export interface Hasher {
  readonly kind: HasherKind;
  readonly codeLengthBits: CodeLengthBits;
  /** Feature dimension seen in training. Undefined before training. */
  readonly inputDimension: number | undefined;
  train(features: FeatureMatrix, options?: TrainOptions): Promise<TrainReport>;
  /** Returns packed codes, one row per feature row, in the bit order PackedCodes documents. */
  encode(features: FeatureMatrix): Promise<PackedCodes>;
  save(): SavedHasher;
}

/** Arrays inside a SavedHasher: little-endian IEEE values in base64, so they reload bit-exactly. */
export interface EncodedArray {
  dtype: 'float32' | 'float64';
  length: number;
  base64: string;
}

export type SavedParameter = EncodedArray | number | string | boolean | number[] | SavedParameter[] | { [name: string]: SavedParameter };

/** The serialized form of a trained hasher (JSON-compatible). */
export interface SavedHasher {
  format: 'whorl-hasher';
  formatVersion: 1;
  kind: HasherKind;
  codeLengthBits: CodeLengthBits;
  inputDimension: number;
  parameters: { [name: string]: SavedParameter };
}

/** Builds the saved form of a trained hasher from its parameters. */
export function savedHasher(hasher: Pick<Hasher, 'kind' | 'codeLengthBits'>, inputDimension: number, parameters: SavedHasher['parameters']): SavedHasher {
  return { format: 'whorl-hasher', formatVersion: 1, kind: hasher.kind, codeLengthBits: hasher.codeLengthBits, inputDimension, parameters };
}

/** Encodes a typed array for a SavedHasher. */
export function encodeArray(values: Float32Array | Float64Array): EncodedArray {
  const dtype = values instanceof Float32Array ? 'float32' : 'float64';
  const bytes = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  return { dtype, length: values.length, base64: bytes.toString('base64') };
}

/** Decodes an EncodedArray written by encodeArray. */
export function decodeArray(encoded: SavedParameter | undefined, name: string): Float32Array | Float64Array {
  if (typeof encoded !== 'object' || encoded === null || Array.isArray(encoded) || !('base64' in encoded) || typeof encoded.base64 !== 'string') {
    throw new UserInputError(`saved hasher parameter "${name}" is missing or not an encoded array. The file is corrupt or from another tool`);
  }
  const bytes = Buffer.from(encoded.base64, 'base64');
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  const values = encoded.dtype === 'float32' ? new Float32Array(copy.buffer) : new Float64Array(copy.buffer);
  if (values.length !== encoded.length) {
    throw new UserInputError(`saved hasher parameter "${name}" decodes to ${values.length} values but records ${String(encoded.length)}. The file is corrupt`);
  }
  return values;
}

/** Reads a numeric parameter of a SavedHasher. */
export function savedNumber(parameters: SavedHasher['parameters'], name: string): number {
  const value = parameters[name];
  if (typeof value !== 'number') {
    throw new UserInputError(`saved hasher parameter "${name}" is missing or not a number. The file is corrupt or from another tool`);
  }
  return value;
}

/** Raises the error every hasher gives when encode or save runs before train. */
export function untrainedError(kind: HasherKind, action: string): UserInputError {
  return new UserInputError(`cannot ${action} with an untrained ${kind} hasher: call train(features) first, or loadHasher(saved)`);
}
