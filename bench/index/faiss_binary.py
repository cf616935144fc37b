"""Times faiss IndexBinaryFlat and IndexBinaryMultiHash on codes written by hamming-bench.ts.

Reads raw packed codes (uint8 rows) from --codes and --queries, runs the same
k values one query at a time and as one batch, and prints one JSON object.
faiss runs on one thread (omp_set_num_threads(1)), like the TypeScript indexes,
and times are CPU time (time.process_time), like the TypeScript side.
"""
import argparse
import json
import time

import faiss
import numpy as np


def time_search(index, queries, k, single):
    """Returns (CPU milliseconds per query, ids) for one-at-a-time or batched search."""
    if single:
        ids = np.empty((len(queries), k), dtype=np.int64)
        start = time.process_time()
        for q in range(len(queries)):
            _, ids[q:q + 1] = index.search(queries[q:q + 1], k)
        elapsed = time.process_time() - start
    else:
        start = time.process_time()
        _, ids = index.search(queries, k)
        elapsed = time.process_time() - start
    return elapsed * 1000 / len(queries), ids


def recall(exact_distances, found_distances):
    """Fraction of results whose distance equals the exact k-NN distance at the same rank."""
    return float(np.mean(found_distances == exact_distances))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--codes", required=True)
    parser.add_argument("--queries", required=True)
    parser.add_argument("--bits", type=int, required=True)
    parser.add_argument("--ks", default="1,10,100")
    parser.add_argument("--nhash", type=int, default=4)
    parser.add_argument("--nflip", type=int, default=2)
    args = parser.parse_args()

    faiss.omp_set_num_threads(1)
    row_bytes = args.bits // 8
    codes = np.fromfile(args.codes, dtype=np.uint8).reshape(-1, row_bytes)
    queries = np.fromfile(args.queries, dtype=np.uint8).reshape(-1, row_bytes)
    ks = [int(k) for k in args.ks.split(",")]
    results = {"faissVersion": faiss.__version__, "codeCount": len(codes), "queryCount": len(queries)}

    start = time.process_time()
    flat = faiss.IndexBinaryFlat(args.bits)
    flat.add(codes)
    results["flatBuildMs"] = (time.process_time() - start) * 1000

    start = time.process_time()
    multi_hash = faiss.IndexBinaryMultiHash(args.bits, args.nhash, args.bits // args.nhash)
    multi_hash.add(codes)
    multi_hash.nflip = args.nflip
    results["multiHashBuildMs"] = (time.process_time() - start) * 1000
    results["multiHash"] = {"nhash": args.nhash, "bitsPerHash": args.bits // args.nhash, "nflip": args.nflip}

    results["searches"] = []
    for k in ks:
        exact_distances, _ = flat.search(queries, k)
        entry = {"k": k}
        entry["flatSingleMs"], _ = time_search(flat, queries, k, True)
        entry["flatBatchMs"], _ = time_search(flat, queries, k, False)
        entry["multiHashSingleMs"], _ = time_search(multi_hash, queries, k, True)
        entry["multiHashBatchMs"], _ = time_search(multi_hash, queries, k, False)
        found_distances, _ = multi_hash.search(queries, k)
        entry["multiHashRecall"] = recall(exact_distances, found_distances)
        results["searches"].append(entry)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
