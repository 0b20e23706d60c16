"""Train (or reuse) and score every model at its results.md budget: one JSON + one markdown table.

  nice -n 10 python tools/score_models.py --data_dir=/work/shared/data/pokemon \
      --runs_dir=/tmp/score_runs [--models=pixel_cnn,row_lstm] [--num_samples=500] [--num_seeds=3]
  python tools/score_models.py --runs_dir=/tmp/score_runs/all --merge=/tmp/score_runs/scores.json,OTHER/scores.json

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


def evaluate_command(model_dir: str, out: str, num_samples: int, num_seeds: int, features_dir: str | None):
    command = [sys.executable, "-m", "genzoo.tools.evaluate", f"--model_dir={model_dir}", f"--out={out}",
               f"--num_samples={num_samples}", f"--num_seeds={num_seeds}"]
    return command + ([f"--features_dir={features_dir}"] if features_dir else [])


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


def time_sampling(model_dir: str, num: int = 64) -> None:
    """Prints JSON: seconds for `num` samples, first call (with tracing) and second call."""
    from genzoo.evaluation import generate
    from genzoo.training import runs

    model, _ = runs.load_model(model_dir)
    times = []
    for seed in (0, 1):
        start = time.monotonic()
        generate(model, num, seed)
        times.append(round(time.monotonic() - start, 2))
    print(json.dumps({"num": num, "first_call_seconds": times[0], "second_call_seconds": times[1]}))


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
    with open(os.path.join(model_dir, "history.json")) as f:
        history = json.load(f)
    row["train_steps"] = int(history[-1]["step"])
    row["train_epochs"] = int(history[-1]["epoch"])
    out = os.path.join(model_dir, "eval")
    evaluate = evaluate_command(model_dir, out, args.num_samples, args.num_seeds, args.features_dir)
    print(f"[score_models] evaluating {model}: {shown(evaluate)}", flush=True)
    row["evaluate"] = run_timed(evaluate, os.path.join(model_dir, "score_models_evaluate.log"), args.timeout)
    if row["evaluate"]["returncode"] != 0:
        return row
    with open(os.path.join(out, "metrics.json")) as f:
        row["metrics"] = json.load(f)
    timing = subprocess.run([sys.executable, os.path.abspath(__file__), f"--time_sampling_of={model_dir}"],
                            capture_output=True, text=True, cwd=ROOT, timeout=args.timeout, check=False)
    try:
        row["sampling_64"] = json.loads(timing.stdout.strip().splitlines()[-1])
        row["sampling_64"]["load"] = round(os.getloadavg()[0], 2)
    except (IndexError, ValueError):
        row["sampling_64"] = {"error": timing.stderr[-500:]}
    return row


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
        lines.append(
            f"| `{row['model']}` | {c2st['accuracy']:.3f} ± {c2st['std']:.3f} ({c2st['p_value']:.1g}) "
            f"| {likelihood_cell(metrics)} | {_pm(scores['frechet_distance'], 1)} | {_pm(scores['kid'], 3)} "
            f"| {memo['near_copy_share']:.0%} | {memo['c2st_samples_vs_training']['accuracy']:.3f} "
            f"| {nn['real_side']:.3f} / {nn['fake_side']:.3f} "
            f"| {row['train_steps']}, {_minutes(train['cpu_seconds'])} ({_minutes(train['wall_seconds'])}, "
            f"{train['load_before']:.0f}-{train['load_after']:.0f}){' (reused)' if train.get('reused') else ''} "
            f"| {_minutes(row['evaluate']['wall_seconds'])} "
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
    return lines


def markdown(rows: list[dict], args) -> str:
    lines = [f"# Scores ({args.num_samples} samples x {args.num_seeds} seeds; tools/score_models.py)", ""]
    for dataset in sorted({row["dataset"] for row in rows}):
        lines += [f"## {dataset}", ""] + table_rows([r for r in rows if r["dataset"] == dataset]) + [""]
    lines += ["## Commands", ""]
    for row in rows:
        lines.append(f"* `{row['model']}`: `{row['train']['command']}`"
                     + (f", then `{row['evaluate']['command']}`" if "evaluate" in row else ""))
    return "\n".join(lines) + "\n"


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
    parser.add_argument("--time_sampling_of", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.time_sampling_of:
        time_sampling(args.time_sampling_of)
        return 0
    if args.merge:
        parts = []
        for path in args.merge.split(","):
            with open(path) as f:
                parts.append(json.load(f))
        merged = {"merged_from": [{k: p[k] for k in ("started", "command")} for p in parts],
                  "cpu_count": os.cpu_count(), "rows": [row for p in parts for row in p["rows"]]}
        os.makedirs(args.runs_dir, exist_ok=True)
        with open(os.path.join(args.runs_dir, "scores.json"), "w") as f:
            json.dump(merged, f, indent=1)
        with open(os.path.join(args.runs_dir, "scores.md"), "w") as f:
            f.write(markdown(merged["rows"], args))
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
        with open(os.path.join(args.runs_dir, "scores.json"), "w") as f:
            json.dump({"started": started, "command": shown([sys.executable, *sys.argv]),
                       "cpu_count": os.cpu_count(), "rows": rows}, f, indent=1)
        with open(os.path.join(args.runs_dir, "scores.md"), "w") as f:
            f.write(markdown(rows, args))
        print(f"[score_models] {model} done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
