import { UserInputError } from '../config/errors';
import type { BinaryIndex, RangeSearchResult, SearchResult } from './binary-index';
import { CodeStorage } from './code-storage';

/**
 * The part of a binary index that only keeps codes: adding, reading back and
 * removing them in a CodeStorage. Subclasses add the search structures.
 */
export abstract class StoredCodesIndex implements BinaryIndex {
  readonly storage: CodeStorage;

  protected constructor(codeLengthBits: number, storage?: CodeStorage) {
    this.storage = storage ?? new CodeStorage(codeLengthBits);
  }

  get codeLengthBits(): number {
    return this.storage.codeLengthBits;
  }

  get ntotal(): number {
    return this.storage.liveCount;
  }

  add(codes: Uint8Array): void {
    this.storage.append(codes);
  }

  addWithIds(codes: Uint8Array, ids: ArrayLike<number>): void {
    this.storage.append(codes, ids);
  }

  reconstruct(id: number): Uint8Array {
    const row = this.storage.rowOf(id);
    if (row < 0) throw new UserInputError(`id ${id} not found in the index: it was never added or was removed`);
    return this.storage.codeAt(row).slice();
  }

  remove(ids: ArrayLike<number>): number {
    return this.storage.remove(ids);
  }

  reset(): void {
    this.storage.reset();
  }

  abstract search(queries: Uint8Array, k: number): SearchResult;

  abstract rangeSearch(queries: Uint8Array, radius: number): RangeSearchResult;
}
