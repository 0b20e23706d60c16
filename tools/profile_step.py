"""Where a train step's time goes: TensorFlow profiler trace of a few steps, op time summed by op type.

  python tools/profile_step.py --model=dcgan --dataset=pokemon40 [--baseline] [--steps=5]

Runs the same step as tools/bench.py (genzoo's compiled step and input pipeline, or
with --baseline the plain Keras baseline's `fit`), traces `--steps` steps after
warm-up and prints the time per step of each op type on the host's threads, largest
first; op types are what TensorFlow names the kernels (Conv2DBackpropInput, MatMul,
...). The trace stays in --logdir for TensorBoard's profile plugin
(`pip install tensorboard-plugin-profile`). Set TF_ENABLE_ONEDNN_OPTS before running
to compare kernel libraries; the header says which one ran.
"""

from __future__ import annotations

import argparse
import collections
import glob
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench


def op_seconds(logdir: str) -> collections.Counter:
    """Seconds per op type in the trace: host events named "op_name:OpType"."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    paths = glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True)
    space = xplane_pb2.XSpace()
    with open(max(paths, key=os.path.getmtime), "rb") as f:
        space.ParseFromString(f.read())
    totals = collections.Counter()
    for plane in space.planes:
        if not plane.name.startswith("/host:CPU"):
            continue
        for line in plane.lines:
            for event in line.events:
                name = plane.event_metadata[event.metadata_id].name
                # Kernels are "scope/op:Type"; skip function frames ("__inference_...") and C++ frames ("a::b").
                if ":" not in name or "::" in name:
                    continue
                kind = name.rsplit(":", 1)[1].strip()
                if kind and not kind.startswith("__inference"):
                    totals[kind] += event.duration_ps / 1e12
    return totals


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--dataset", default="pokemon")
    parser.add_argument("--data_dir", default="../shared/data/pokemon")
    parser.add_argument("--tfds_dir", default=None)
    parser.add_argument("--baseline", action="store_true", help="profile the plain Keras baseline instead")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--logdir", default="/tmp/genzoo_profile")
    args = parser.parse_args()
    if args.steps < 1:
        sys.exit("profile_step: --steps must be positive")
    if not args.baseline:
        bench.genzoo_first()
    import numpy as np
    import tensorflow as tf
    from tensorflow.python.util import _pywrap_util_port

    if args.baseline:
        model, x, y = bench.keras_baseline(args)
        index = np.arange(args.steps * bench.BATCH) % len(x)
        x, y = x[index], None if y is None else y[index]
        run = lambda: model.fit(x, y, batch_size=bench.BATCH, epochs=1, verbose=0, shuffle=False)
        run()  # trace and warm up
    else:
        _, steps = bench.genzoo_step(args)
        steps(3)
        run = lambda: steps(args.steps)
    logdir = os.path.join(args.logdir, f"{'keras' if args.baseline else 'genzoo'}_{args.model}_{args.dataset}")
    shutil.rmtree(logdir, ignore_errors=True)
    tf.profiler.experimental.start(logdir)
    run()
    tf.profiler.experimental.stop()
    totals = op_seconds(logdir)
    total = sum(totals.values())
    print(f"{'Keras baseline' if args.baseline else 'genzoo'} {args.model} on {args.dataset}, batch {bench.BATCH}, "
          f"oneDNN {'on' if _pywrap_util_port.IsMklEnabled() else 'off'}: {total / args.steps:.3f} s of op time "
          f"per step (trace in {logdir})")
    for name, seconds in totals.most_common(args.top):
        print(f"  {name:32s} {1000 * seconds / args.steps:9.1f} ms/step {100 * seconds / total:6.1f}%")


if __name__ == "__main__":
    main()
