"""Train (or reuse) and score every model at its results.md budget: one JSON + one markdown table.

  nice -n 10 python tools/score_models.py --data_dir=/work/shared/data/pokemon \
      --runs_dir=/tmp/score_runs [--models=pixel_cnn,row_lstm] [--num_samples=500] [--num_seeds=3]
  python tools/score_models.py --runs_dir=/tmp/score_runs/all --merge=/tmp/score_runs/scores.json,OTHER/scores.json
  nice -n 10 python tools/score_models.py --runs_dir=/tmp/score_runs/existing \
      --existing=dcgan=/tmp/gan_runs/RUN@latest,vae=/tmp/vae_runs/px4   # evaluate only, no training

For each model: `python -m genzoo.tools.train` with the budget of `BUDGETS` below (the
commands of docs/results.md) into RUNS_DIR/MODEL, unless that folder already holds a run
of the same command that reached its last epoch (then it is reused), then
`python -m genzoo.tools.evaluate --num_samples=N --num_seeds=S` into RUNS_DIR/MODEL/eval,
then the time to sample 64 images (the second of two calls, so tracing is excluded).
Wall and CPU times (of the child processes) and the load average go beside every step:
the machine may be shared, so compare times only within one run of this script.

Writes RUNS_DIR/scores.json (every metrics.json in full plus commands and times) and
RUNS_DIR/scores.md (one table per dataset: C2ST first, then likelihood, FD/KID,
precision/recall, near-copies, times), rewritten after every model so a partial run
leaves its results. Default models: every registered model with a budget here; the
conditional ones (`cvae`, `cgan`) train on `pokemon40`, the others on `pokemon`.

`--existing=NAME=RUN_DIR[@CHECKPOINT],...` scores run folders that are already trained
(any model, any budget, e.g. the runs of an ablation) without training them: only the
evaluate and sampling-time steps, into RUNS_DIR/NAME/eval (nothing is written into
RUN_DIR). CHECKPOINT is `best`, `latest` or a checkpoint path (default `--checkpoint`);
evaluate's `best` falls back to the latest when the run kept no best checkpoint, and
`metrics.json` records the one restored. The row's training command is rebuilt from
RUN_DIR/config.json (its training times are unknown: "–").
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shlex
import subprocess
import sys
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)  # run from a checkout

# model -> (dataset, training flags): the budgets of docs/results.md (`gated_pixel_cnn`
# has no earlier row; it gets `pixel_cnn`'s budget).
BUDGETS = {
    "vae": ("pokemon", ["--epochs=35"]),
    "gan": ("pokemon", ["--epochs=60"]),
    "dcgan": ("pokemon", ["--epochs=100"]),
    "pixel_lstm": ("pokemon", ["--epochs=20", "--batch_size=32", "--learning_rate=2e-3", "--num_samples=16"]),
    "pixel_cnn": ("pokemon", ["--epochs=20", "--batch_size=32", "--learning_rate=3e-3", "--num_samples=16"]),
    "gated_pixel_cnn": ("pokemon", ["--epochs=20", "--batch_size=32", "--learning_rate=3e-3", "--num_samples=16"]),
    "row_lstm": ("pokemon", ["--epochs=20", "--batch_size=32", "--learning_rate=3e-3", "--num_samples=16"]),
    "diagonal_bilstm": ("pokemon", ["--epochs=15", "--batch_size=32", "--learning_rate=3e-3", "--num_samples=16"]),
    "cgan": ("pokemon40", ["--epochs=30", "--num_samples=36"]),
    "cvae": ("pokemon40", ["--epochs=100", "--learning_rate=5e-4", "--num_samples=36"]),
}
AUTOREGRESSIVE = ["pixel_lstm", "pixel_cnn", "gated_pixel_cnn", "row_lstm", "diagonal_bilstm"]


def train_command(model: str, data_dir: str, model_dir: str) -> list[str]:
    dataset, flags = BUDGETS[model]
    return [sys.executable, "-m", "genzoo.tools.train", f"--model={model}", f"--dataset={dataset}",
            f"--data_dir={data_dir}", *flags, f"--model_dir={model_dir}"]


def evaluate_command(model_dir: str, out: str, num_samples: int, num_seeds: int, features_dir: str | None,
                     checkpoint: str | None = None):
    command = [sys.executable, "-m", "genzoo.tools.evaluate", f"--model_dir={model_dir}", f"--out={out}",
               f"--num_samples={num_samples}", f"--num_seeds={num_seeds}"]
    command += [f"--checkpoint={checkpoint}"] if checkpoint else []
    return command + ([f"--features_dir={features_dir}"] if features_dir else [])


def parse_existing(value: str, default_checkpoint: str) -> list[tuple[str, str, str]]:
    """`NAME=DIR[@CHECKPOINT],...` -> [(name, dir, checkpoint)]; ValueError names the bad entry."""
    entries = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        name, sep, rest = item.partition("=")
        run_dir, _, checkpoint = rest.partition("@")
        if not sep or not name or not run_dir or "/" in name:
            raise ValueError(f"--existing entry {item!r}: give NAME=RUN_DIR[@CHECKPOINT]")
        if not os.path.isfile(os.path.join(run_dir, "config.json")):
            raise ValueError(f"--existing entry {item!r}: {run_dir} is no run folder (no config.json)")
        if name in (e[0] for e in entries):
            raise ValueError(f"--existing: the name {name!r} is given twice")
        entries.append((name, run_dir, checkpoint or default_checkpoint))
    if not entries:
        raise ValueError("--existing: no NAME=RUN_DIR entry")
    return entries


def shown(command: list[str]) -> str:
    """The command as a reader types it (python, not this interpreter's path)."""
    return shlex.join(["python", *command[1:]])


def code_state() -> dict:
    """The checkout the step ran from: the commit and a hash of uncommitted changes under genzoo/
    (several people may edit the working tree while a long run goes on)."""
    def git(*args):
        result = subprocess.run(["git", *args], capture_output=True, cwd=ROOT, check=False)
        return result.stdout if result.returncode == 0 else b""

    diff = git("diff", "HEAD", "--", "genzoo")
    return {"commit": git("rev-parse", "HEAD").decode().strip(),
            "genzoo_uncommitted_sha256": hashlib.sha256(diff).hexdigest() if diff else None}


def run_timed(command: list[str], log_path: str, timeout: float) -> dict:
    """Runs `command` (output to `log_path`); wall and child CPU seconds, load before/after, the code."""
    code = code_state()
    before_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    load_before = os.getloadavg()[0]
    start = time.monotonic()
    with open(log_path, "w") as log:
        try:
            returncode = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
                                        timeout=timeout, check=False).returncode
        except subprocess.TimeoutExpired:
            returncode = "timeout"
    wall = time.monotonic() - start
    after_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after_cpu.ru_utime - before_cpu.ru_utime) + (after_cpu.ru_stime - before_cpu.ru_stime)
    return {"command": shown(command), "returncode": returncode, "wall_seconds": round(wall, 1),
            "cpu_seconds": round(cpu, 1), "load_before": round(load_before, 2),
            "load_after": round(os.getloadavg()[0], 2), "log": log_path, "code": code}


def finished(model_dir: str, command: list[str]) -> bool:
    """True when `model_dir` holds a run of `command` that reached its last epoch."""
    epochs = next(int(a.split("=", 1)[1]) for a in command if a.startswith("--epochs="))
    try:
        with open(os.path.join(model_dir, "history.json")) as f:
            history = json.load(f)
        with open(os.path.join(model_dir, "score_models_train.json")) as f:
            recorded = json.load(f)
    except (OSError, ValueError):
        return False
    return bool(history) and int(history[-1].get("epoch", 0)) >= epochs and recorded["command"] == shown(command)


def time_sampling(model_dir: str, checkpoint: str = "best", num: int = 64) -> None:
    """Prints JSON: seconds for `num` samples, first call (with tracing) and second call."""
    from genzoo.evaluation import generate
    from genzoo.training import runs

    model, _ = runs.load_model(model_dir, checkpoint)
    times = []
    for seed in (0, 1):
        start = time.monotonic()
        generate(model, num, seed)
        times.append(round(time.monotonic() - start, 2))
    print(json.dumps({"num": num, "first_call_seconds": times[0], "second_call_seconds": times[1]}))


def evaluate_row(row: dict, model_dir: str, out: str, args, checkpoint: str | None = None) -> dict:
    """The evaluate step and the 64-sample timing of one row (a trained run in `model_dir`)."""
    with open(os.path.join(model_dir, "history.json")) as f:
        history = json.load(f)
    row["train_steps"] = int(history[-1]["step"])
    row["train_epochs"] = int(history[-1]["epoch"])
    evaluate = evaluate_command(model_dir, out, args.num_samples, args.num_seeds, args.features_dir, checkpoint)
    print(f"[score_models] evaluating {row['model']}: {shown(evaluate)}", flush=True)
    log_dir = os.path.dirname(out)
    row["evaluate"] = run_timed(evaluate, os.path.join(log_dir, "score_models_evaluate.log"), args.timeout)
    if row["evaluate"]["returncode"] != 0:
        return row
    with open(os.path.join(out, "metrics.json")) as f:
        row["metrics"] = json.load(f)
    timing_command = [sys.executable, os.path.abspath(__file__), f"--time_sampling_of={model_dir}"]
    timing_command += [f"--time_sampling_checkpoint={checkpoint}"] if checkpoint else []
    timing = subprocess.run(timing_command, capture_output=True, text=True, cwd=ROOT, timeout=args.timeout,
                            check=False)
    try:
        row["sampling_64"] = json.loads(timing.stdout.strip().splitlines()[-1])
        row["sampling_64"]["load"] = round(os.getloadavg()[0], 2)
    except (IndexError, ValueError):
        row["sampling_64"] = {"error": timing.stderr[-500:]}
    return row


def score_existing(name: str, run_dir: str, checkpoint: str, args) -> dict:
    """Evaluate-only row of an already trained run folder (nothing written into it)."""
    from genzoo.training.config import train_command as rebuilt_command

    with open(os.path.join(run_dir, "config.json")) as f:
        config = json.load(f)
    row_dir = os.path.join(args.runs_dir, name)
    os.makedirs(row_dir, exist_ok=True)
    row = {"model": name, "model_class": config["train"]["model"], "dataset": config["train"]["dataset"],
           "model_dir": os.path.abspath(run_dir), "checkpoint_asked": checkpoint,
           "train": {"command": shown(rebuilt_command(config["train"], model_dir=config["train"]["model_dir"])),
                     "existing": True,
                     "hparams": config["train"].get("hparams", {})}}
    return evaluate_row(row, os.path.abspath(run_dir), os.path.join(row_dir, "eval"), args, checkpoint)


def score_one(model: str, args) -> dict:
    model_dir = os.path.join(args.runs_dir, model)
    os.makedirs(model_dir, exist_ok=True)
    row = {"model": model, "dataset": BUDGETS[model][0], "model_dir": model_dir}
    train = train_command(model, args.data_dir, model_dir)
    if finished(model_dir, train):
        with open(os.path.join(model_dir, "score_models_train.json")) as f:
            row["train"] = {**json.load(f), "reused": True}
    else:
        print(f"[score_models] training {model}: {shown(train)}", flush=True)
        row["train"] = run_timed(train, os.path.join(model_dir, "score_models_train.log"), args.timeout)
        if row["train"]["returncode"] != 0:
            return row
        with open(os.path.join(model_dir, "score_models_train.json"), "w") as f:
            json.dump(row["train"], f, indent=1)
    return evaluate_row(row, model_dir, os.path.join(model_dir, "eval"), args)


def _pm(entry: dict, digits: int) -> str:
    return f"{entry['mean']:.{digits}f} ± {entry['std']:.{digits}f}"


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


def likelihood_cell(metrics: dict) -> str:
    lik = metrics["likelihood"]
    if lik["kind"] == "exact":
        return f"{lik['bits_per_dim']:.3f} ± {lik['bits_per_dim_stderr']:.3f} (exact)"
    if lik["kind"] == "importance_weighted_bound":
        bounds = lik["bounds"]
        keys = sorted(bounds, key=int)
        first, last = bounds[keys[0]], bounds[keys[-1]]
        return f"≤ {first['bits_per_dim']:.3f} (ELBO), ≤ {last['bits_per_dim']:.3f} (IW, k = {keys[-1]})"
    return "–"


def table_rows(rows: list[dict]) -> list[str]:
    """docs/results.md's columns: C2ST first, likelihood, FD/KID, the memorisation audit, 1-NN sides,
    times (precision and recall stay in the JSON: the calibration found precision inverted)."""
    lines = []
    header = ("| model | C2ST acc ± std (p) | held-out bits/dim | FD | KID | near-copies | C2ST vs training "
              "| 1-NN pixels: real / fake side | train: steps, CPU (wall, load) | evaluate wall | 64 samples |")
    lines += [header, "|" + " --- |" * (header.count(" | ") + 1)]
    reference = None
    for row in rows:
        metrics = row.get("metrics")
        if metrics is None:
            stage = "evaluate" if "evaluate" in row else "train"
            lines.append(f"| `{row['model']}` | failed in {stage} (see {row[stage]['log']}) |" + " |" * 9)
            continue
        two = metrics["two_sample"]["samples_vs_heldout"]
        c2st, nn = two["c2st"], two["nearest_neighbour_pixels"]
        scores, memo = metrics["sample_quality"]["scores"], metrics["memorisation"]
        train = row["train"]
        sampling = row.get("sampling_64", {})
        if train.get("existing"):
            train_cell = f"{row['train_steps']}, – (existing run)"
        else:
            train_cell = (f"{row['train_steps']}, {_minutes(train['cpu_seconds'])} ({_minutes(train['wall_seconds'])}, "
                          f"{train['load_before']:.0f}-{train['load_after']:.0f})"
                          f"{' (reused)' if train.get('reused') else ''}")
        lines.append(
            f"| `{row['model']}` | {c2st['accuracy']:.3f} ± {c2st['std']:.3f} ({c2st['p_value']:.1g}) "
            f"| {likelihood_cell(metrics)} | {_pm(scores['frechet_distance'], 1)} | {_pm(scores['kid'], 3)} "
            f"| {memo['near_copy_share']:.0%} | {memo['c2st_samples_vs_training']['accuracy']:.3f} "
            f"| {nn['real_side']:.3f} / {nn['fake_side']:.3f} "
            f"| {train_cell} | {_minutes(row['evaluate']['wall_seconds'])} "
            f"| {sampling.get('second_call_seconds', '?')} s |")
        reference = reference or metrics
    if reference is not None:
        two = reference["two_sample"]["training_vs_heldout_reference"]
        c2st, nn = two["c2st"], two["nearest_neighbour_pixels"]
        scores, memo = reference["sample_quality"]["training_images_reference"], reference["memorisation"]
        lines.append(
            f"| training sprites (the floor) | {c2st['accuracy']:.3f} ± {c2st['std']:.3f} ({c2st['p_value']:.1g}) "
            f"| – | {_pm(scores['frechet_distance'], 1)} | {_pm(scores['kid'], 3)} "
            f"| {memo.get('heldout_near_copy_share', 0):.0%} (held-out) "
            f"| {memo['c2st_heldout_vs_training_reference']['accuracy']:.3f} (held-out) "
            f"| {nn['real_side']:.3f} / {nn['fake_side']:.3f} | – | – | – |")
    for row in rows:
        control = row.get("metrics", {}).get("class_control")
        if control:
            lines.append("")
            lines.append(f"Class control of `{row['model']}`: {control['accuracy']:.3f} of its samples named as the "
                         f"class asked for (chance {control['chance']:.3f}; the classifier on held-out images "
                         f"{control.get('classifier_heldout_accuracy', float('nan')):.3f}; "
                         f"{control['per_class_samples']} samples per class).")
    return lines


def markdown(rows: list[dict], args) -> str:
    lines = [f"# Scores ({args.num_samples} samples x {args.num_seeds} seeds; tools/score_models.py)", ""]
    for dataset in sorted({row["dataset"] for row in rows}):
        lines += [f"## {dataset}", ""] + table_rows([r for r in rows if r["dataset"] == dataset]) + [""]
    lines += ["## Commands", ""]
    for row in rows:
        trained = "trained earlier with (rebuilt from its config.json) " if row["train"].get("existing") else ""
        lines.append(f"* `{row['model']}`: {trained}`{row['train']['command']}`"
                     + (f", then `{row['evaluate']['command']}`" if "evaluate" in row else ""))
    return "\n".join(lines) + "\n"


def write_scores(args, rows: list[dict], started: str) -> None:
    with open(os.path.join(args.runs_dir, "scores.json"), "w") as f:
        json.dump({"started": started, "command": shown([sys.executable, *sys.argv]),
                   "cpu_count": os.cpu_count(), "rows": rows}, f, indent=1)
    with open(os.path.join(args.runs_dir, "scores.md"), "w") as f:
        f.write(markdown(rows, args))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data_dir", default=None, help="Local copy of the Pokémon files.")
    parser.add_argument("--runs_dir", default="/tmp/score_runs", help="One run folder per model in here.")
    parser.add_argument("--models", default="", help="Comma-separated; default: every model with a budget.")
    parser.add_argument("--num_samples", type=int, default=500)
    parser.add_argument("--num_seeds", type=int, default=3)
    parser.add_argument("--features_dir", default=None, help="genzoo's feature classifiers (evaluate's default).")
    parser.add_argument("--timeout", type=float, default=4 * 3600, help="Seconds per training or evaluation.")
    parser.add_argument("--merge", default="", help="Comma-separated scores.json files of earlier runs of this "
                        "script (e.g. models scored in two processes): write their rows together into RUNS_DIR.")
    parser.add_argument("--existing", default="", help="Comma-separated NAME=RUN_DIR[@CHECKPOINT]: evaluate "
                        "these trained run folders (no training) into RUNS_DIR/NAME/eval.")
    parser.add_argument("--checkpoint", default="best", help="--existing runs' checkpoint when an entry names "
                        "none: best (the latest when the run kept no best), latest, or a path.")
    parser.add_argument("--time_sampling_of", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--time_sampling_checkpoint", default="best", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.time_sampling_of:
        time_sampling(args.time_sampling_of, args.time_sampling_checkpoint)
        return 0
    if args.merge:
        parts = []
        for path in args.merge.split(","):
            with open(path) as f:
                parts.append(json.load(f))
        sources = [source for p in parts  # a merged file lists its own sources
                   for source in p.get("merged_from", [{k: p.get(k) for k in ("started", "command")}])]
        merged = {"merged_from": sources,
                  "cpu_count": os.cpu_count(), "rows": [row for p in parts for row in p["rows"]]}
        os.makedirs(args.runs_dir, exist_ok=True)
        with open(os.path.join(args.runs_dir, "scores.json"), "w") as f:
            json.dump(merged, f, indent=1)
        with open(os.path.join(args.runs_dir, "scores.md"), "w") as f:
            f.write(markdown(merged["rows"], args))
        return 0
    if args.existing:
        try:
            entries = parse_existing(args.existing, args.checkpoint)
        except ValueError as err:
            print(f"score_models: error: {err}", file=sys.stderr)
            return 2
        os.makedirs(args.runs_dir, exist_ok=True)
        rows = []
        started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        for name, run_dir, checkpoint in entries:
            rows.append(score_existing(name, run_dir, checkpoint, args))
            write_scores(args, rows, started)
            print(f"[score_models] {name} done", flush=True)
        return 0
    from genzoo.models import registry

    registered = registry.names()
    models = [m for m in args.models.split(",") if m] or [m for m in registered if m in BUDGETS]
    unknown = [m for m in models if m not in BUDGETS or m not in registered]
    if unknown:
        print(f"score_models: error: no budget or no such model: {', '.join(unknown)} "
              f"(known: {', '.join(sorted(BUDGETS))})", file=sys.stderr)
        return 2
    if args.data_dir is None:
        print("score_models: error: --data_dir is required (the Pokémon files)", file=sys.stderr)
        return 2
    args.data_dir = os.path.abspath(args.data_dir)
    os.makedirs(args.runs_dir, exist_ok=True)
    rows = []
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    for model in models:
        rows.append(score_one(model, args))
        write_scores(args, rows, started)
        print(f"[score_models] {model} done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
