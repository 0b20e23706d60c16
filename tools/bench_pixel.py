"""Benchmarks of the PixelRNN family on `pokemon` (palette, 167 colours). See docs/pixel_rnn.md.

  python tools/bench_pixel.py --data_dir=../shared/data/pokemon                # everything
  python tools/bench_pixel.py --parts=quality --models=pixel_cnn                # one part, one model

Speed (throughput, sampling, memory) is measured by tools/bench.py (docs/performance.md).

Parts:
  * baselines:  the two count models of tools/count_baselines.py on the test split.
  * quality:    each model trained for a stated budget (steps x batch, Adam), then
                held-out bits per pixel on the test split, against the baselines.
  * encodings:  (not in the default parts) pixel_lstm with the quality budget on the
                palette and on RGB (R -> G -> B heads), compared in nats per image.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path[:0] = [ROOT, os.path.dirname(os.path.abspath(__file__))]  # genzoo and count_baselines from a checkout

import count_baselines
import keras
import numpy as np
import tensorflow as tf

from genzoo import data
from genzoo.models import PixelLSTM, registry

# Quality budget per model: hyper-parameters, batch, learning rate, steps.
QUALITY = {
    "pixel_lstm": ({"units": 128}, 32, 5e-3, 250),
    "pixel_cnn": ({"filters": 64, "blocks": 4}, 32, 3e-3, 300),
    "row_lstm": ({"units": 32, "filters": 64, "layers": 2}, 32, 3e-3, 200),
    "diagonal_bilstm": ({"units": 32, "filters": 64, "layers": 2}, 32, 3e-3, 100),
}


def arrays(split, args, encoding=None):
    ds, spec = data.load("pokemon", split, encoding=encoding, data_dir=args.data_dir, tfds_dir=args.tfds_dir)
    images = np.stack([e["image"] for e in ds.as_numpy_iterator()])
    return images, spec


def batches(images, batch_size, seed=0):
    labels = np.zeros(len(images), np.int32)
    ds = tf.data.Dataset.from_tensor_slices({"image": images, "label": labels})
    return iter(ds.shuffle(len(images), seed=seed).repeat().batch(batch_size, drop_remainder=True))


def held_out_bits(model, test_images) -> float:
    log_prob = tf.function(model.log_prob)
    nats = np.concatenate([log_prob(tf.constant(test_images[i:i + 40])).numpy()
                           for i in range(0, len(test_images), 40)])
    return float(np.mean(model.bits_per_dim(-nats)))


def bench_baselines(train, test, spec, results):
    results["baselines"] = {
        "marginal": count_baselines.marginal_bits(train, test, spec.num_colors),
        "left_up_context": count_baselines.context_bits(train, test, spec.num_colors),
    }
    print(f"baselines: {json.dumps({k: round(v, 3) for k, v in results['baselines'].items()})}", flush=True)


def bench_quality(train, test, spec, results, names):
    results["quality"] = {}
    for name in names:
        hparams, batch_size, lr, steps = QUALITY[name]
        keras.utils.set_random_seed(0)
        model = registry.build(name, spec, **hparams)
        model.compile_for_training(lr)
        step = tf.function(model.train_step)
        it = batches(train, batch_size)
        start = time.time()
        for _ in range(steps):
            step(next(it))
        seconds = time.time() - start
        bits = held_out_bits(model, test)
        results["quality"][name] = {"hparams": hparams, "batch": batch_size, "learning_rate": lr, "steps": steps,
                                    "train_seconds": round(seconds, 1), "test_bits_per_pixel": round(bits, 3)}
        print(f"quality {name}: {json.dumps(results['quality'][name])}", flush=True)


def bench_encodings(args, results):
    hparams, batch_size, lr, steps = QUALITY["pixel_lstm"]
    results["encodings"] = {}
    for encoding in ("palette", "rgb"):
        train, spec = arrays("train", args, encoding)
        test, _ = arrays("test", args, encoding)
        keras.utils.set_random_seed(0)
        model = PixelLSTM(spec, **hparams)
        model.compile_for_training(lr)
        step = tf.function(model.train_step)
        it = batches(train, batch_size)
        start = time.time()
        for _ in range(steps):
            step(next(it))
        bits = held_out_bits(model, test)
        results["encodings"][encoding] = {
            "steps": steps, "train_seconds": round(time.time() - start, 1),
            "test_nats_per_image": round(bits * spec.num_dims * np.log(2.0), 1),
            "test_bits_per_dim": round(bits, 3)}
        print(f"encoding {encoding}: {json.dumps(results['encodings'][encoding])}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data_dir", default="../shared/data/pokemon")
    parser.add_argument("--tfds_dir", default=None)
    parser.add_argument("--parts", default="baselines,quality")
    parser.add_argument("--models", default=",".join(QUALITY))
    parser.add_argument("--out", default="", help="also write the results as JSON here")
    args = parser.parse_args()
    parts, names = args.parts.split(","), args.models.split(",")
    train, spec = arrays("train", args)
    test, _ = arrays("test", args)
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}", flush=True)
    results = {}
    if "baselines" in parts:
        bench_baselines(train, test, spec, results)
    if "quality" in parts:
        bench_quality(train, test, spec, results, names)
    if "encodings" in parts:
        bench_encodings(args, results)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
