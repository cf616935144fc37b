"""Encode the MNIST benchmark split with FAISS's ITQ and LSH.

Reads float32 row-major matrices written by run-mnist.ts and writes packed
codes (faiss bit order: bit j in byte j // 8, least significant bit first),
so the TypeScript harness scores every method with the same metrics code.
"""

import argparse
import json
import pathlib

import faiss
import numpy as np


def load_matrix(folder: pathlib.Path, name: str, rows: int, dimension: int) -> np.ndarray:
    values = np.fromfile(folder / f"{name}.f32", dtype="<f4")
    if values.size != rows * dimension:
        raise SystemExit(f"{name}.f32 has {values.size} values, expected {rows}x{dimension}")
    return values.reshape(rows, dimension)


def build_indexes(dimension: int, bits: int) -> dict:
    # FAISS seeds its random rotations with fixed constants, so these codes are
    # reproducible without a seed argument.
    # ITQTransform(d_in, d_out, do_pca) centres, applies PCA to d_out and the
    # learned rotation; IndexLSH(bits, bits, rotate_data=False,
    # train_thresholds=False) then thresholds each output at zero.
    itq = faiss.IndexPreTransform(faiss.ITQTransform(dimension, bits, True), faiss.IndexLSH(bits, bits, False, False))
    # IndexLSH(d, nbits) with its defaults: a random rotation to nbits
    # dimensions and thresholds at zero, without centring the data.
    lsh = faiss.IndexLSH(dimension, bits)
    # The same with per-bit median thresholds learned in training.
    lsh_thresholds = faiss.IndexLSH(dimension, bits, True, True)
    return {"faiss-itq": itq, "faiss-lsh": lsh, "faiss-lsh-thresholds": lsh_thresholds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", type=pathlib.Path, help="folder with meta.json, train.f32, query.f32, database.f32")
    args = parser.parse_args()

    meta = json.loads((args.folder / "meta.json").read_text())
    dimension = meta["dimension"]
    train = load_matrix(args.folder, "train", meta["trainRows"], dimension)
    query = load_matrix(args.folder, "query", meta["queryRows"], dimension)
    database = load_matrix(args.folder, "database", meta["databaseRows"], dimension)

    results = []
    for bits in meta["codeLengthsBits"]:
        for name, index in build_indexes(dimension, bits).items():
            index.train(train)
            for split, matrix in (("query", query), ("database", database)):
                codes = index.sa_encode(matrix)
                if codes.shape != (matrix.shape[0], bits // 8):
                    raise SystemExit(f"{name} produced codes of shape {codes.shape} for {bits} bits")
                codes.tofile(args.folder / f"{name}-{bits}-{split}.u8")
            results.append({"method": name, "codeLengthBits": bits})
    (args.folder / "faiss-results.json").write_text(json.dumps({"faissVersion": faiss.__version__, "codes": results}))


if __name__ == "__main__":
    main()
