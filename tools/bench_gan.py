"""DCGAN benchmarks: training throughput, and sample grids after a fixed budget.

  python tools/bench_gan.py --data_dir=../shared/data/pokemon --what=throughput
  python tools/bench_gan.py --data_dir=../shared/data/pokemon --what=grids --epochs=60

`throughput`: DCGAN train steps (one discriminator + one generator update) per
second at batch 64 on `pokemon40`, with the step compiled by `tf.function`, with
and without XLA; the first (tracing) calls are excluded.
`grids`: trains DCGAN on `pokemon` (20x20, 167-colour palette, through RGB) and
`pokemon40` (40x40 RGB) with genzoo's training loop for `--epochs` epochs each
(the same as `python -m genzoo.tools.train --model=dcgan --dataset=... --epochs=...`),
then writes 8x8 sample grids from the averaged generator to `--out`. Results and
commands are in docs/gan.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))  # run from a checkout

import tensorflow as tf


def throughput(args) -> dict:
    from genzoo import data
    from genzoo.models import DCGAN

    ds, spec = data.load("pokemon40", "train", data_dir=args.data_dir, tfds_dir=args.tfds_dir)
    batch = next(iter(ds.shuffle(1000, seed=0).batch(args.batch_size, drop_remainder=True)))
    results = {"dataset": "pokemon40", "batch_size": args.batch_size, "filters": args.filters,
               "latent_dim": args.latent_dim, "steps": args.steps}
    for jit in (False, True):
        model = DCGAN(spec, latent_dim=args.latent_dim, filters=args.filters)
        model.compile_for_training(2e-4)
        step = tf.function(model.train_step, jit_compile=jit)
        start = time.perf_counter()
        step(batch)
        trace = time.perf_counter() - start
        step(batch)
        start = time.perf_counter()
        for _ in range(args.steps):
            out = step(batch)
        float(out["g_loss"])  # wait for the last step
        seconds = (time.perf_counter() - start) / args.steps
        key = "xla" if jit else "tf_function"
        results[key] = {"seconds_per_step": round(seconds, 4), "images_per_second": round(args.batch_size / seconds, 1),
                        "first_call_seconds": round(trace, 1)}
        print(key, results[key], flush=True)
    return results


def grids(args) -> dict:
    from genzoo import data, images
    from genzoo.training import TrainConfig, train

    results = {}
    for dataset in ("pokemon", "pokemon40"):
        model_dir = os.path.join(args.runs, f"dcgan_{dataset}")
        config = TrainConfig(
            model="dcgan", dataset=dataset, model_dir=model_dir, data_dir=args.data_dir, tfds_dir=args.tfds_dir,
            epochs=args.epochs, batch_size=64, learning_rate=2e-4, seed=0, checkpoint_every=1000,
            hparams={"filters": args.filters, "latent_dim": args.latent_dim},
        )
        start = time.perf_counter()
        model, history = train(config, verbose=0)
        minutes = (time.perf_counter() - start) / 60
        pictures = data.to_rgb_uint8(model.sample(64, seed=0), model.spec).numpy()
        path = os.path.join(args.out, f"dcgan_{dataset}.png")
        images.save_png(path, images.grid(pictures, scale=2 if model.spec.height < 30 else 1))
        last = history[-1]
        results[dataset] = {
            "epochs": args.epochs, "steps": last["step"], "minutes": round(minutes, 1), "figure": path,
            **{k: round(v, 3) for k, v in last.items() if k not in ("epoch", "step")},
        }
        print(dataset, results[dataset], flush=True)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data_dir", default="../shared/data/pokemon")
    parser.add_argument("--tfds_dir", default=None)
    parser.add_argument("--what", choices=("throughput", "grids", "all"), default="all")
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20, help="timed steps per variant")
    parser.add_argument("--filters", type=int, default=32)
    parser.add_argument("--latent_dim", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=60, help="training budget per dataset for the grids")
    parser.add_argument("--runs", default="runs/bench_gan")
    parser.add_argument("--out", default="docs/figures")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    results = {"tensorflow": tf.__version__, "cpu_count": os.cpu_count()}
    if args.what in ("throughput", "all"):
        results["throughput"] = throughput(args)
    if args.what in ("grids", "all"):
        results["grids"] = grids(args)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
