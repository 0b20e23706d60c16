"""genzoo's performance harness: one command, a table out, JSON beside it. See docs/performance.md.

  python tools/bench.py --data_dir=../shared/data/pokemon --out=docs/figures/bench.json

In one run on one machine, each measurement in its own process (so each reports its
own peak memory):
  * matmul: this machine's float32 matrix-multiply rate (2048^3 `tf.linalg.matmul`),
    at the start and at the end of the run, with oneDNN off and on; the largest is the
    limit used below.
  * train: images per second of every registered model's train step at batch 64 (the training
    loop's own compiled step and input pipeline; default hyper-parameters), median of
    timed windows after warm-up, against the plain Keras baseline of
    tools/keras_baselines.py (`fit`, one-hot inputs, no XLA) run with TensorFlow's
    default kernels for this CPU, and the same baseline with oneDNN forced on (genzoo
    turns it on, see genzoo/__init__.py: the second ratio shows what genzoo gains
    beyond that switch), where tools/keras_baselines.py has one; for pixel_lstm also the
    PyTorch peer of tools/torch_pixel_lstm.py when torch is importable (2 threads); the
    FLOPs the step needs and the achieved share of the matmul rate. Which data each
    model runs on follows from its capabilities (`datasets_of`).
  * sampling: 64 images from each tempered (autoregressive) sampler (the cached or
    carried-state loop of `sample`) against naive re-computation per sub-pixel
    (`prefix_logits`), 1,024 from the others, each against its roofline time: the FLOPs
    of the sampler that ran at the matmul rate (`AutoregressiveModel.sampling_flops`,
    counted by hand from the layers the loop multiplies, for the autoregressive models).
  * pipeline: images per second the tf.data input pipeline delivers alone.

FLOPs counted (multiply-add = 2): matmuls and convolutions from TensorFlow's graph
profiler on the traced `train_step` (forward and backward) and on the decoders; a model
whose loops hide the work from the profiler gives its own closed-form forward count
(`forward_flops`, pixel_lstm), a step counting 3x that; an autoregressive sampler gives
its own count (`sampling_flops`); embedding lookups are not matrix products and count 0.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path[:0] = [ROOT, os.path.dirname(os.path.abspath(__file__))]  # genzoo and keras_baselines from a checkout

BATCH = 64
WINDOW_SECONDS = 4.0


def datasets_of(name: str) -> list[str]:
    """The lecture's data a registered model is measured on, from its declared capabilities:
    `pokemon` (20x20, 167 colours, no labels); conditional models need labels: the 40x40 RGB
    sprites and their types (`pokemon40`)."""
    from genzoo.models import capabilities, registry
    conditional = capabilities.Conditional in capabilities.declared(registry.get(name))
    return ["pokemon40"] if conditional else ["pokemon"]


def registered() -> list[str]:
    genzoo_first()
    from genzoo.models import registry
    return registry.names()


# === Worker side (one process per measurement) ===
def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _median(values):
    import numpy as np
    return float(np.median(values))


def matmul_rate(n=2048, repeats=10) -> float:
    import tensorflow as tf
    a = tf.random.normal([n, n])
    run = tf.function(lambda: tf.reduce_sum(tf.linalg.matmul(a, a)))
    run().numpy()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run().numpy()
        times.append(time.perf_counter() - start)
    return 2 * n**3 / _median(times)


def _load(dataset, args):
    from genzoo import data
    return data.load(dataset, "train", data_dir=args.data_dir if dataset != "shapes" else None, tfds_dir=args.tfds_dir)


def _arrays(dataset, args):
    from genzoo.evaluation.features import arrays
    ds, spec = _load(dataset, args)
    return (*arrays(ds), spec)


def graph_flops(fn, *specs) -> float:
    """FLOPs of one call of `fn` on inputs of the given `tf.TensorSpec`s, from TensorFlow's graph profiler."""
    import tensorflow as tf
    graph = tf.function(fn).get_concrete_function(*specs).graph
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    return float(tf.compat.v1.profiler.profile(graph, options=options).total_float_ops)


def step_flops(model, batch: int) -> float:
    """FLOPs of one training step at `batch` images: TensorFlow's graph profiler on the traced
    `train_step` (forward and backward passes, every network the step runs), or 3x the
    model's own closed-form forward count where a loop hides the work from the profiler."""
    import tensorflow as tf
    closed = model.forward_flops(batch)
    if closed is not None:
        return 3 * closed  # the backward pass costs about twice the forward
    spec = model.spec
    data = {"image": tf.TensorSpec([batch, *spec.image_shape], spec.image_dtype),
            "label": tf.TensorSpec([batch], tf.int32)}
    return graph_flops(model.train_step, data)


def sampling_flops(model, num: int) -> float:
    """FLOPs of drawing `num` images with `model.sample`: an autoregressive model's own count of its
    sampling loop (`sampling_flops`); without one, its teacher-forced network once per sub-pixel
    (on the rows done so far when it samples row by row); other samplers decode `num` codes."""
    import tensorflow as tf

    from genzoo.models.capabilities import Decoder, ExactLikelihood, has
    if model.tempered and has(model, ExactLikelihood) and model.sampling_flops(num) is not None:
        return model.sampling_flops(num)
    closed = model.forward_flops(num)
    if closed is not None:
        return closed
    spec = model.spec
    images = tf.TensorSpec([num, *spec.image_shape], spec.image_dtype)
    labels = tf.TensorSpec([num], tf.int32)
    if model.tempered and has(model, ExactLikelihood):
        # Row r runs the network on r + 1 of H rows: (H + 1) / 2H of the work.
        rows = (spec.height + 1) / (2 * spec.height) if model.rowwise_sampling else 1.0
        per_pass = graph_flops(lambda x, y: model.log_prob(x, y if model.conditional else None), images, labels)
        return per_pass * model.num_pixels * model.num_channels * rows
    if has(model, Decoder):
        from genzoo.models import VAE
        from genzoo.models.vae import pixel_sampler
        codes = tf.TensorSpec([num, model.latent_dim], tf.float32)
        if isinstance(model, VAE) and model.autoregressive:
            # The decoder's feature map once, then the cached loop's own count per pixel.
            features = graph_flops(lambda z, y: model.decoder(model._with_label(z, y)), codes, labels)
            return features + num * pixel_sampler.flops_per_image(model)
        return graph_flops(lambda z, y: model.decode(z, y if model.conditional else None), codes, labels)
    return float("nan")


def genzoo_first():
    """Imports genzoo before TensorFlow loads, so its kernel settings (genzoo/__init__.py) apply."""
    import genzoo  # noqa: F401


def genzoo_step(args):
    """(model, run(n)): the training loop's compiled step and input pipeline; run(n) times n steps."""
    genzoo_first()
    import keras
    import tensorflow as tf

    from genzoo.models import registry
    from genzoo.training.loop import distributed_steps

    ds, spec = _load(args.dataset, args)
    strategy = tf.distribute.get_strategy()
    keras.utils.set_random_seed(0)
    model = registry.build(args.model, spec, seed=0)
    model.compile_for_training(model.default_learning_rate)
    step = tf.Variable(0, dtype=tf.int64)
    train_step, _ = distributed_steps(strategy, model, step)
    ds = ds.cache().shuffle(1000, seed=0).repeat().batch(BATCH, drop_remainder=True).prefetch(tf.data.AUTOTUNE)
    batches = iter(strategy.experimental_distribute_dataset(ds))

    def run(n):
        start = time.perf_counter()
        for _ in range(n):
            train_step(next(batches))
        step.numpy()
        return time.perf_counter() - start

    return model, run


def keras_baseline(args):
    """(compiled model, inputs, targets) of the plain Keras baseline, whole batches of BATCH only.

    TensorFlow loads before keras_baselines imports genzoo, so the baseline runs with
    TensorFlow's own kernel settings (or TF_ENABLE_ONEDNN_OPTS as the caller set it).
    """
    import keras
    import keras_baselines

    images, labels, spec = _arrays(args.dataset, args)
    keras.utils.set_random_seed(0)
    whole = len(images) // BATCH * BATCH  # a short last batch would be a fast step
    return keras_baselines.BASELINES[args.model](images[:whole], labels[:whole], spec)


def worker_genzoo(args):
    model, run = genzoo_step(args)
    windows = _timed_windows(run)
    return {"seconds_per_step": _median(windows["per_step"]), **windows,
            "flops_per_step": step_flops(model, BATCH)}


def _timed_windows(run, warmup=2, num_windows=3):
    """`run(n)` runs n steps and returns seconds; windows sized to about WINDOW_SECONDS after warm-up.
    Also the process's CPU seconds per step (all threads): on a machine other jobs load, the wall
    time stretches with the load, the CPU time much less."""
    run(warmup)
    one = run(1)
    n = max(1, round(WINDOW_SECONDS / one))
    per_step, cpu_per_step = [], []
    for _ in range(num_windows):
        cpu = time.process_time()
        per_step.append(run(n) / n)
        cpu_per_step.append((time.process_time() - cpu) / n)
    return {"steps_per_window": n, "per_step": per_step, "cpu_seconds_per_step": _median(cpu_per_step)}


def worker_keras(args):
    import keras
    import numpy as np

    model, x, y = keras_baseline(args)
    times, cpu_times = [], []

    class Clock(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            float(np.asarray(next(iter(logs.values()))))  # wait for the step
            times.append(time.perf_counter())
            cpu_times.append(time.process_time())

    warm = 4 * BATCH  # warm-up on 4 batches: traces the step (the batch shape stays the same)
    model.fit(x[:warm], None if y is None else y[:warm], batch_size=BATCH, epochs=1, verbose=0, callbacks=[Clock()])
    one = float(np.median(np.diff(times)))
    n = max(1, round(WINDOW_SECONDS / one))
    if 3 * n + 1 <= len(x) // BATCH:  # one epoch of just the batches timed (slow steps on a loaded machine)
        x, y = x[:(3 * n + 1) * BATCH], None if y is None else y[:(3 * n + 1) * BATCH]
    steps_per_epoch = len(x) // BATCH
    epochs = -(-3 * n // (steps_per_epoch - 1)) if steps_per_epoch > 1 else 3 * n
    times.clear()
    cpu_times.clear()
    model.fit(x, y, batch_size=BATCH, epochs=epochs, verbose=0, callbacks=[Clock()])
    # Windows of n steps, skipping each epoch's first step (iterator set-up) by using step-to-step gaps.
    boundaries = lambda gaps: np.delete(gaps, np.arange(steps_per_epoch - 1, len(gaps), steps_per_epoch))
    gaps, cpu_gaps = boundaries(np.diff(times)), boundaries(np.diff(cpu_times))
    per_step = [float(np.mean(gaps[i * n:(i + 1) * n])) for i in range(3)]
    cpu = [float(np.mean(cpu_gaps[i * n:(i + 1) * n])) for i in range(3)]
    return {"seconds_per_step": _median(per_step), "steps_per_window": n, "per_step": per_step,
            "cpu_seconds_per_step": _median(cpu)}


def worker_torch(args):
    """The PyTorch peer of tools/torch_pixel_lstm.py (2 threads), timed as the genzoo step."""
    import torch_pixel_lstm

    images, _, spec = _arrays(args.dataset, args)
    windows = _timed_windows(torch_pixel_lstm.timed_step(images, spec.num_colors, BATCH))
    return {"seconds_per_step": _median(windows["per_step"]), **windows}


def torch_available() -> bool:
    import importlib.util
    return importlib.util.find_spec("torch") is not None


TORCH_PEERS = ("pixel_lstm",)


def worker_sampling(args):
    genzoo_first()
    import keras
    import numpy as np

    from genzoo.models import VAE, registry

    _, spec = _load(args.dataset, args)
    keras.utils.set_random_seed(0)
    model = registry.build(args.model, spec, seed=0)  # untrained: the cost does not depend on the weights
    num = 64 if model.tempered else 1024  # sub-pixel by sub-pixel samplers draw the fewer
    out = {"images": num}
    model.sample(num, seed=1)  # trace and compile
    times = []
    for seed in range(3):
        start = time.perf_counter()
        np.asarray(model.sample(num, seed=seed))
        times.append(time.perf_counter() - start)
        if times[0] > 20:  # a minute-long sampler: one timed run is enough
            break
    out["seconds"] = _median(times)
    if model.tempered:
        # 1,000 images in one call, as `genzoo.tools.sample --num=1000` runs it: XLA compile for the
        # new batch size included; CPU seconds beside the wall time (other jobs' load inflates the wall).
        wall, cpu = time.perf_counter(), time.process_time()
        np.asarray(model.sample(1000, seed=0))
        out["seconds_1000_with_compile"] = time.perf_counter() - wall
        out["cpu_seconds_1000_with_compile"] = time.process_time() - cpu
        # The PixelVAE has no per-sub-pixel step to time alone: its reference sampler runs in full.
        # The plain VAE decoder draws every pixel at once: it has no naive sampler.
        if not isinstance(model, VAE) or model.autoregressive:
            out.update(naive_seconds(model, num, args.naive_full or isinstance(model, VAE)))
    out["sampling_flops"] = sampling_flops(model, num)
    return out


def naive_seconds(model, num, full: bool) -> dict:
    """Sampling by re-running the network for every sub-pixel (`model.prefix_logits`, the naive
    sampler's step): timed at 9 steps and summed over all sub-pixels by a linear fit (constant for
    the convolutional and 2-D LSTM models, linear in the prefix for pixel_lstm); a full run of
    `naive_sample` with --naive_full.
    """
    import numpy as np
    import tensorflow as tf

    seed = tf.constant(1, tf.int64)
    if full:
        start = time.perf_counter()
        np.asarray(model.naive_sample(num, seed=1))
        return {"naive_seconds": time.perf_counter() - start, "naive_method": "full run"}
    labels = model.labels_for(num, None)
    values = tf.zeros([num, model.spec.height, model.spec.width, model.num_channels], tf.int32)
    one = tf.function(lambda v, step: model.draw(model.prefix_logits(v, step, labels), seed, step, 1.0))
    steps = model.num_pixels * model.num_channels
    points, times = np.linspace(0, steps - 1, 9).astype(int), []
    one(values, tf.constant(0)).numpy()
    for step in points:
        start = time.perf_counter()
        one(values, tf.constant(int(step))).numpy()
        times.append(time.perf_counter() - start)
    slope, intercept = np.polyfit(points, times, 1)
    total = float(sum(intercept + slope * t for t in range(steps)))
    return {"naive_seconds": total, "naive_method": f"naive step timed at 9 of {steps} sub-pixels, linear fit summed"}


def worker_pipeline(args):
    import tensorflow as tf

    ds, _ = _load("pokemon", args)
    ds = ds.cache().shuffle(1000, seed=0).repeat().batch(BATCH, drop_remainder=True).prefetch(tf.data.AUTOTUNE)
    it = iter(ds)
    for _ in range(50):
        next(it)
    n = 2000
    start = time.perf_counter()
    for _ in range(n):
        next(it)
    return {"images_per_second": n * BATCH / (time.perf_counter() - start)}


def worker_matmul(args):
    return {"flops_per_second": matmul_rate()}


WORKERS = {"genzoo": worker_genzoo, "keras": worker_keras, "torch": worker_torch, "sampling": worker_sampling,
           "pipeline": worker_pipeline, "matmul": worker_matmul}


# === Driver side ===
def measure(args, kind, model="", dataset="", onednn=None) -> dict:
    """Runs one worker process. `onednn`: None keeps genzoo's setting (on, unless the caller
    set TF_ENABLE_ONEDNN_OPTS); "tf_default" unsets it (TensorFlow's own choice for this CPU);
    "1"/"0" force it."""
    command = [sys.executable, os.path.abspath(__file__), f"--worker={kind}", f"--model={model}",
               f"--dataset={dataset}", f"--data_dir={args.data_dir}"]
    command += [f"--tfds_dir={args.tfds_dir}"] if args.tfds_dir else []
    command += ["--naive_full"] if args.naive_full else []
    env = dict(os.environ)
    if onednn == "tf_default":
        env.pop("TF_ENABLE_ONEDNN_OPTS", None)
    elif onednn is not None:
        env["TF_ENABLE_ONEDNN_OPTS"] = onednn
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    label = f"{kind} {model} {dataset}" + (f" (oneDNN {onednn})" if onednn else "")
    if done.returncode or not lines:
        tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
        print(f"  {label}: failed: {tail[0]}", flush=True)
        return {"error": tail[0]}
    result = json.loads(lines[-1])
    print(f"  {label}: {json.dumps(result)}", flush=True)
    return result


def matmul_rates(args) -> dict:
    """The matmul rate with oneDNN off and on (the kernels differ); the larger is the limit."""
    return {setting: measure(args, "matmul", onednn=setting)["flops_per_second"] for setting in ("0", "1")}


def table(results) -> str:
    rate = results["matmul_flops_per_second"]
    rows = [f"Matmul rate used: {rate / 1e9:.0f} GFLOP/s (the largest of the start and end figures, oneDNN off and on).",
            "", ("| model | data | genzoo img/s | Keras img/s | speed-up (target 1.5x) | Keras + oneDNN img/s "
                 "| speed-up vs that | PyTorch img/s | speed-up vs PyTorch (target 1.2x) | GFLOP/step "
                 "| % of matmul rate | peak MB genzoo / Keras |"),
            "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    cpu_rows = []
    for r in results["train"]:
        g = r["genzoo"]
        if "cpu_seconds_per_step" in g:
            peers = [(key, r[key]["cpu_seconds_per_step"]) for key in ("keras", "keras_onednn", "torch")
                     if "cpu_seconds_per_step" in r.get(key, {})]
            cpu_rows.append(f"| {r['model']} | {g['cpu_seconds_per_step']:.2f} | " + ", ".join(
                f"{key} {c:.2f} ({c / g['cpu_seconds_per_step']:.2f}x)" for key, c in peers) + " |")
        if "error" in g:
            rows.append(f"| {r['model']} | {r['dataset']} | failed | | | | | | | | | |")
            continue
        gs = BATCH / g["seconds_per_step"]
        share = g["flops_per_step"] / g["seconds_per_step"] / rate
        cells = []
        for key in ("keras", "keras_onednn", "torch"):
            k = r.get(key, {})
            ks = BATCH / k["seconds_per_step"] if "seconds_per_step" in k else None
            cells += [f"{ks:.1f}", f"{gs / ks:.2f}x"] if ks else ["none", "-"]
        keras_mb = f"{r['keras']['peak_mb']:.0f}" if "peak_mb" in r.get("keras", {}) else "-"
        rows.append(f"| {r['model']} | {r['dataset']} | {gs:.1f} | {' | '.join(cells)} | "
                    f"{g['flops_per_step'] / 1e9:.1f} | {100 * share:.0f}% | {g['peak_mb']:.0f} / {keras_mb} |")
    if cpu_rows:
        rows += ["", "| CPU seconds per step (all threads) | genzoo | peers (peer / genzoo) |", "|---|---|---|", *cpu_rows]
    if not results["sampling"]:
        return "\n".join(rows)
    rows += ["", ("| sampling | images | seconds (cached) | naive seconds | naive / cached (target 20x) "
             "| roofline s (its own FLOPs) | cached / roofline (target 3x; pixel_lstm 1.5x) | peak MB |"),
             "|---|---|---|---|---|---|---|---|"]
    for name, s in results["sampling"].items():
        if "error" in s:
            rows.append(f"| {name} | failed | | | | | | |")
            continue
        roof = s["sampling_flops"] / rate
        naive, seconds = s.get("naive_seconds"), s["seconds"]
        naive_text = f"{naive:.0f}" if naive else "-"
        speedup = ("-" if not naive else f"{naive / seconds:.0f}x" if naive / seconds >= 10
                   else f"{naive / seconds:.1f}x")
        rows.append(f"| {name} | {s['images']} | {seconds:.2f} | {naive_text} | {speedup} | {roof:.3f} | "
                    f"{seconds / roof:.1f}x | {s['peak_mb']:.0f} |")
    big = {name: s for name, s in results["sampling"].items() if "seconds_1000_with_compile" in s}
    if big:
        rows += ["", "| sampling 1,000 images (one call, compile included) | wall s | CPU s |", "|---|---|---|"]
        rows += [f"| {name} | {s['seconds_1000_with_compile']:.1f} | {s['cpu_seconds_1000_with_compile']:.1f} |"
                 for name, s in big.items()]
    return "\n".join(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data_dir", default="../shared/data/pokemon")
    parser.add_argument("--tfds_dir", default=None)
    parser.add_argument("--parts", default="train,sampling,pipeline")
    parser.add_argument("--models", default="", help="comma-separated subset (default: all)")
    parser.add_argument("--train_models", default="", help="comma-separated subset for the train part (default: --models)")
    parser.add_argument("--naive_full", action="store_true", help="run naive pixel_lstm sampling over all pixels")
    parser.add_argument("--out", default="", help="write the results as JSON here, the table beside it (.md)")
    parser.add_argument("--worker", default="", help=argparse.SUPPRESS)
    parser.add_argument("--model", default="", help=argparse.SUPPRESS)
    parser.add_argument("--dataset", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        result = WORKERS[args.worker](args)
        from tensorflow.python.util import _pywrap_util_port
        print(json.dumps({**result, "peak_mb": _peak_mb(), "onednn": _pywrap_util_port.IsMklEnabled()}), flush=True)
        return
    parts, chosen = args.parts.split(","), set(filter(None, args.models.split(",")))
    keep = lambda name: not chosen or name in chosen
    results = {"machine": {"cpus": os.cpu_count(), "load_average_at_start": os.getloadavg()[0]},
               "command": " ".join(sys.argv), "train": [], "sampling": {}}
    print("matmul", flush=True)
    start_rates = matmul_rates(args)
    names = [name for name in registered() if keep(name)]
    train_names = [name for name in registered() if name in set(args.train_models.split(","))] \
        if args.train_models else names
    if "train" in parts:
        for name, dataset in [(model, dataset) for model in train_names for dataset in datasets_of(model)]:
            row = {"model": name, "dataset": dataset, "genzoo": measure(args, "genzoo", name, dataset)}
            if name in __import__("keras_baselines").BASELINES:
                row["keras"] = measure(args, "keras", name, dataset, onednn="tf_default")
                row["keras_onednn"] = measure(args, "keras", name, dataset, onednn="1")
            if name in TORCH_PEERS and torch_available():
                row["torch"] = measure(args, "torch", name, dataset)
            results["train"].append(row)
    if "sampling" in parts:
        for name in names:
            results["sampling"][name] = measure(args, "sampling", name, datasets_of(name)[0])
    if "pipeline" in parts:
        results["pipeline"] = measure(args, "pipeline")
    end_rates = matmul_rates(args)
    results["matmul_flops_per_second_start_end"] = {"start": start_rates, "end": end_rates}
    start_rate, end_rate = max(start_rates.values()), max(end_rates.values())
    results["matmul_flops_per_second"] = max(start_rate, end_rate)
    results["machine"]["load_average_at_end"] = os.getloadavg()[0]
    text = table(results)
    print(f"\nmatmul (float32, 2048^3): {start_rate / 1e9:.0f} GFLOP/s at the start, {end_rate / 1e9:.0f} at the end")
    if "pipeline" in results and "images_per_second" in results["pipeline"]:
        print(f"input pipeline alone: {results['pipeline']['images_per_second']:.0f} images/s")
    print(text)
    if args.out:
        from genzoo import files
        files.write_json(args.out, results)
        files.write_bytes(os.path.splitext(args.out)[0] + ".md", (text + "\n").encode())


if __name__ == "__main__":
    main()
