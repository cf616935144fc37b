"""Measure Keras (Python TensorFlow) on the benchmark architectures.

Builds each architecture of architectures.json as a Keras Sequential model,
compiled like the tfjs side (Adam, categorical cross-entropy), and prints one
JSON line per architecture with the median wall-clock and CPU time of a
training step (train_on_batch) and of inference (predict_on_batch). The protocol matches
measure-tfjs.ts: two untimed runs, then up to --max-steps timed runs, stopping
early once --max-seconds have passed.

    python measure_keras.py --threads 2 --architectures small-cnn,vgg-sensor
"""

import argparse
import json
import os
import statistics
import time
from pathlib import Path


def build_model(spec, keras):
    layers = [keras.Input(shape=spec["inputShape"])]
    for layer in spec["layers"]:
        kind = layer["type"]
        if kind == "conv2d":
            layers.append(
                keras.layers.Conv2D(
                    layer["filters"],
                    layer["kernelSize"],
                    strides=layer["strides"],
                    padding=layer["padding"],
                    activation=layer["activation"],
                    dilation_rate=layer.get("dilation", 1),
                )
            )
        elif kind == "batchNorm":
            layers.append(keras.layers.BatchNormalization())
        elif kind == "relu":
            layers.append(keras.layers.ReLU())
        elif kind == "maxPool":
            layers.append(keras.layers.MaxPooling2D(layer["poolSize"], strides=layer["strides"]))
        elif kind == "globalAveragePool":
            layers.append(keras.layers.GlobalAveragePooling2D())
        elif kind == "flatten":
            layers.append(keras.layers.Flatten())
        elif kind == "dense":
            layers.append(keras.layers.Dense(layer["units"], activation=layer["activation"]))
        else:
            raise ValueError(f"unknown layer type {kind!r} in architectures.json")
    model = keras.Sequential(layers)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy")
    return model


def time_steps(step, max_steps, max_seconds):
    """Return the wall-clock and process CPU milliseconds (all threads) of each timed run."""
    step()
    step()
    wall_ms, cpu_ms = [], []
    deadline = time.perf_counter() + max_seconds
    while len(wall_ms) < max_steps and (not wall_ms or time.perf_counter() < deadline):
        started = time.perf_counter()
        cpu_started = time.process_time()
        step()
        cpu_ms.append((time.process_time() - cpu_started) * 1000)
        wall_ms.append((time.perf_counter() - started) * 1000)
    return wall_ms, cpu_ms


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="intra-op and inter-op threads")
    parser.add_argument("--architectures", default="small-cnn,vgg-sensor", help="comma-separated names from architectures.json")
    parser.add_argument("--max-seconds", type=float, default=20, help="stop timing after this many seconds per measurement")
    parser.add_argument("--max-steps", type=int, default=10, help="timed runs per measurement at most")
    parser.add_argument("--peak-matmul", action="store_true", help="also print float32 matmul GFLOP/s as an achievable peak")
    arguments = parser.parse_args()

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    import numpy as np
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(arguments.threads)
    tf.config.threading.set_inter_op_parallelism_threads(arguments.threads)
    keras = tf.keras
    architectures = json.loads((Path(__file__).parent / "architectures.json").read_text())
    generator = np.random.default_rng(0)

    for name in arguments.architectures.split(","):
        spec = architectures[name]
        model = build_model(spec, keras)
        images = generator.standard_normal((spec["batchSize"], *spec["inputShape"]), dtype=np.float32)
        labels = np.eye(spec["classes"], dtype=np.float32)[generator.integers(0, spec["classes"], spec["batchSize"])]

        train_ms, train_cpu_ms = time_steps(lambda: model.train_on_batch(images, labels), arguments.max_steps, arguments.max_seconds)
        infer_ms, infer_cpu_ms = time_steps(lambda: model.predict_on_batch(images), arguments.max_steps, arguments.max_seconds)
        print(
            json.dumps(
                {
                    "runtime": "keras",
                    "backend": "keras",
                    "backendVersion": f"tensorflow {tf.__version__}, keras {keras.__version__}",
                    "threads": arguments.threads,
                    "architecture": name,
                    "batchSize": spec["batchSize"],
                    "trainStepMs": statistics.median(train_ms),
                    "trainStepCpuMs": statistics.median(train_cpu_ms),
                    "trainSteps": len(train_ms),
                    "inferBatchMs": statistics.median(infer_ms),
                    "inferBatchCpuMs": statistics.median(infer_cpu_ms),
                    "inferSteps": len(infer_ms),
                }
            ),
            flush=True,
        )

    if arguments.peak_matmul:
        size = 2048
        a = tf.random.normal((size, size))
        b = tf.random.normal((size, size))
        matmul_ms, _ = time_steps(lambda: tf.linalg.matmul(a, b).numpy(), 10, 10)
        gflops = 2 * size**3 / (statistics.median(matmul_ms) / 1000) / 1e9
        print(json.dumps({"runtime": "keras", "peakMatmulGflops": gflops, "threads": arguments.threads}), flush=True)


if __name__ == "__main__":
    main()
