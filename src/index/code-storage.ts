import { UserInputError } from '../config/errors';
import { bytesPerCode, countCodes, validateCodeLength, type CodeLengthBits } from './codes';
import { POPCOUNT_WASM_BASE64 } from './kernel/popcount-wasm';

const WASM_PAGE_BYTES = 65536;
/** Bytes reserved at the start of memory for the histogram (257 u32 bins) and one query. */
const HISTOGRAM_OFFSET = 0;
const QUERY_OFFSET = 2048;
const THRESHOLD_OFFSET = 2048 + 64;
const CODES_OFFSET = 4096;
const MAX_DISTANCE_BINS = 257;

/**
 * The part of the WebAssembly JavaScript API used here. TypeScript's ES2022
 * library and @types/node 20 do not declare the WebAssembly global.
 */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: unknown };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

let compiledKernel: object | undefined;

function kernelModule(): object {
  compiledKernel ??= new wasm.Module(Buffer.from(POPCOUNT_WASM_BASE64, 'base64'));
  return compiledKernel;
}

interface KernelExports {
  memory: WasmMemory;
  scan(query: number, codes: number, count: number, words: number, out: number, histogram: number): void;
  collect(distances: number, count: number, threshold: number, out: number): number;
  topk(
    query: number, codes: number, count: number, words: number, k: number,
    threshold: number, counts: number, outRows: number, outDistances: number, thresholdOut: number,
  ): number;
}

/**
 * Rows of packed codes with their ids and tombstones, kept inside the memory
 * of a WebAssembly popcount kernel so the linear scan reads them in place.
 *
 * Memory layout for a capacity of C rows of B bytes: histogram and query at
 * the start, then codes (C·B bytes), then scratch distances (u16 per row) and
 * scratch row numbers (u32 per row). Growing moves only the scratch regions.
 */
export class CodeStorage {
  readonly codeLengthBits: CodeLengthBits;
  readonly rowBytes: number;
  /** Number of rows added, including removed ones. */
  rowCount = 0;
  /** Number of rows that are removed (tombstoned). */
  removedCount = 0;
  ids: Float64Array;
  removed: Uint8Array;
  private capacity = 0;
  private kernel: KernelExports;
  private idToRow: Map<number, number> | undefined;
  /** True while row r has id r, so rows are found without a lookup structure. */
  private sequentialIds = true;
  /** True while ids increase with the row, so rows are found by binary search. */
  private ascendingIds = true;

  constructor(codeLengthBits: number) {
    this.codeLengthBits = validateCodeLength(codeLengthBits);
    this.rowBytes = bytesPerCode(codeLengthBits);
    this.kernel = new wasm.Instance(kernelModule()).exports as unknown as KernelExports;
    this.ids = new Float64Array(0);
    this.removed = new Uint8Array(0);
  }

  /** Number of rows that are not removed, as faiss's `ntotal` after `remove_ids`. */
  get liveCount(): number {
    return this.rowCount - this.removedCount;
  }

  /**
   * Appends rows. `ids` must be non-negative safe integers that are not in
   * the storage yet; without them rows get ids rowCount, rowCount + 1, ….
   */
  append(codes: Uint8Array, ids?: ArrayLike<number>): void {
    const count = countCodes(codes, this.codeLengthBits);
    if (ids !== undefined && ids.length !== count) {
      throw new UserInputError(`invalid ids: expected one id per code (${count}), got ${ids.length}`);
    }
    if (ids !== undefined) this.validateNewIds(ids);

    this.reserve(this.rowCount + count);
    new Uint8Array(this.kernel.memory.buffer, CODES_OFFSET + this.rowCount * this.rowBytes, codes.byteLength).set(codes);
    for (let i = 0; i < count; i++) {
      const id = ids === undefined ? this.nextSequentialId() + i : ids[i];
      if (ids !== undefined && id !== this.rowCount + i) this.sequentialIds = false;
      if (this.rowCount + i > 0 && id <= this.ids[this.rowCount + i - 1]) this.ascendingIds = false;
      this.ids[this.rowCount + i] = id;
      this.idToRow?.set(id, this.rowCount + i);
    }
    this.rowCount += count;
  }

  /** Bytes of the code in `row`, as a view that a later append may invalidate. */
  codeAt(row: number): Uint8Array {
    return new Uint8Array(this.kernel.memory.buffer, CODES_OFFSET + row * this.rowBytes, this.rowBytes);
  }

  /** Returns all codes as 32-bit words, rowBytes / 4 per row. A later append may invalidate the view. */
  codeWords(): Uint32Array {
    return new Uint32Array(this.kernel.memory.buffer, CODES_OFFSET, (this.rowCount * this.rowBytes) / 4);
  }

  /** Returns all codes as bytes. A later append may invalidate the view. */
  codeBytes(): Uint8Array {
    return new Uint8Array(this.kernel.memory.buffer, CODES_OFFSET, this.rowCount * this.rowBytes);
  }

  /** Returns the row of a live id, or -1 when the id is absent or removed. */
  rowOf(id: number): number {
    let row: number;
    if (this.sequentialIds) {
      row = Number.isInteger(id) && id >= 0 && id < this.rowCount ? id : -1;
    } else if (this.ascendingIds) {
      row = this.searchAscendingIds(id);
    } else {
      row = this.idMap().get(id) ?? -1;
    }
    return row >= 0 && this.removed[row] === 0 ? row : -1;
  }

  /** Tombstones the rows of `ids` and returns how many live rows it removed. */
  remove(ids: ArrayLike<number>): number {
    let removedNow = 0;
    for (let i = 0; i < ids.length; i++) {
      const row = this.rowOf(ids[i]);
      if (row < 0) continue;
      this.removed[row] = 1;
      removedNow++;
    }
    this.removedCount += removedNow;
    return removedNow;
  }

  reset(): void {
    this.rowCount = 0;
    this.removedCount = 0;
    this.removed.fill(0);
    this.idToRow = undefined;
    this.sequentialIds = true;
    this.ascendingIds = true;
  }

  /**
   * Scans every row against one query with the WebAssembly kernel. Returns
   * u16 distances per row and a histogram of distances over live rows; both
   * views are valid until the next scan or append.
   */
  scan(query: Uint8Array): { distances: Uint16Array; histogram: Uint32Array } {
    const memory = this.kernel.memory.buffer;
    const histogram = new Uint32Array(memory, HISTOGRAM_OFFSET, MAX_DISTANCE_BINS);
    histogram.fill(0);
    new Uint8Array(memory, QUERY_OFFSET, this.rowBytes).set(query);
    const distancesOffset = this.distancesOffset();
    this.kernel.scan(QUERY_OFFSET, CODES_OFFSET, this.rowCount, Math.floor(this.rowBytes / 8), distancesOffset, HISTOGRAM_OFFSET);

    const distances = new Uint16Array(memory, distancesOffset, this.rowCount);
    if (this.removedCount > 0) {
      for (let row = 0; row < this.rowCount; row++) {
        if (this.removed[row] !== 0) histogram[distances[row]]--;
      }
    }
    return { distances, histogram };
  }

  /**
   * Scans every row once for the k nearest, removed rows included. Returns
   * candidate rows with their distances and a threshold: the k nearest rows
   * are the candidates with distance <= threshold. Views are valid until the
   * next scan or append.
   */
  scanTopK(query: Uint8Array, k: number): { rows: Uint32Array; distances: Uint16Array; threshold: number } {
    const memory = this.kernel.memory.buffer;
    new Uint32Array(memory, HISTOGRAM_OFFSET, MAX_DISTANCE_BINS).fill(0);
    new Uint8Array(memory, QUERY_OFFSET, this.rowBytes).set(query);
    const written = this.kernel.topk(
      QUERY_OFFSET, CODES_OFFSET, this.rowCount, Math.floor(this.rowBytes / 8), k,
      this.codeLengthBits, HISTOGRAM_OFFSET, this.rowsOffset(), this.distancesOffset(), THRESHOLD_OFFSET,
    );
    return {
      rows: new Uint32Array(memory, this.rowsOffset(), written),
      distances: new Uint16Array(memory, this.distancesOffset(), written),
      threshold: new Uint32Array(memory, THRESHOLD_OFFSET, 1)[0],
    };
  }

  /** Returns the distances of the last scan, one u16 per row. */
  lastDistances(): Uint16Array {
    return new Uint16Array(this.kernel.memory.buffer, this.distancesOffset(), this.rowCount);
  }

  /** Returns the rows whose distance from the last scan is at most `threshold`, in row order, removed rows included. */
  collect(threshold: number): Uint32Array {
    const rowsOffset = this.rowsOffset();
    const written = this.kernel.collect(this.distancesOffset(), this.rowCount, threshold, rowsOffset);
    return new Uint32Array(this.kernel.memory.buffer, rowsOffset, written);
  }

  private distancesOffset(): number {
    return CODES_OFFSET + this.capacity * this.rowBytes;
  }

  private rowsOffset(): number {
    return align(this.distancesOffset() + this.capacity * 2, 8);
  }

  private reserve(rows: number): void {
    if (rows <= this.capacity) return;
    const capacity = Math.max(rows, Math.ceil(this.capacity * 1.5), 1024);
    const requiredBytes = align(CODES_OFFSET + capacity * this.rowBytes + capacity * 2, 8) + capacity * 4;
    const memory = this.kernel.memory;
    if (requiredBytes > memory.buffer.byteLength) {
      memory.grow(Math.ceil((requiredBytes - memory.buffer.byteLength) / WASM_PAGE_BYTES));
    }
    this.capacity = capacity;

    const ids = new Float64Array(capacity);
    ids.set(this.ids.subarray(0, this.rowCount));
    this.ids = ids;
    const removed = new Uint8Array(capacity);
    removed.set(this.removed.subarray(0, this.rowCount));
    this.removed = removed;
  }

  private nextSequentialId(): number {
    if (this.sequentialIds) return this.rowCount;
    return this.maxId() + 1;
  }

  private maxId(): number {
    let max = -1;
    for (let row = 0; row < this.rowCount; row++) max = Math.max(max, this.ids[row]);
    return max;
  }

  private idMap(): Map<number, number> {
    if (this.idToRow === undefined) {
      this.idToRow = new Map();
      for (let row = 0; row < this.rowCount; row++) this.idToRow.set(this.ids[row], row);
    }
    return this.idToRow;
  }

  private searchAscendingIds(id: number): number {
    let low = 0;
    let high = this.rowCount - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const value = this.ids[middle];
      if (value === id) return middle;
      if (value < id) low = middle + 1;
      else high = middle - 1;
    }
    return -1;
  }

  private validateNewIds(ids: ArrayLike<number>): void {
    // Fast path: increasing ids above every id so far are unique without a set.
    let increasing = this.rowCount === 0 || (this.ascendingIds && ids.length > 0 && ids[0] > this.ids[this.rowCount - 1]);
    for (let i = 0; i < ids.length && increasing; i++) {
      const id = ids[i];
      if (!Number.isSafeInteger(id) || id < 0 || (i > 0 && id <= ids[i - 1])) increasing = false;
    }
    if (increasing) return;

    const seen = new Set<number>();
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!Number.isSafeInteger(id) || id < 0) {
        throw new UserInputError(`invalid id ${id} at position ${i}: expected a non-negative safe integer`);
      }
      if (seen.has(id) || (this.rowCount > 0 && this.hasId(id))) {
        throw new UserInputError(`invalid id ${id} at position ${i}: the id is already in the index, and ids must be unique`);
      }
      seen.add(id);
    }
  }

  private hasId(id: number): boolean {
    if (this.sequentialIds) return Number.isInteger(id) && id < this.rowCount;
    if (this.ascendingIds) return this.searchAscendingIds(id) >= 0;
    return this.idMap().has(id);
  }
}

function align(value: number, multiple: number): number {
  return Math.ceil(value / multiple) * multiple;
}
