"""The GAN small-data recipe and its ablation: train, evaluate, and tabulate (docs/gan.md).

  python tools/gan_ablation.py --data_dir=../shared/data/pokemon --epochs=300 --runs=/tmp/gan_runs/ablation
  python tools/gan_ablation.py --runs=/tmp/gan_runs/ablation --summarise   # the table only
  python tools/gan_ablation.py --data_dir=../shared/data/pokemon --pixel_stats=RUN1,RUN2   # speckle statistics
  python tools/gan_ablation.py --model=cgan --dataset=pokemon40 --quality_every=20 --runs=/tmp/gan_runs/cgan40 \
      --rows=cgan40,cgan40_no_outline,cgan40_no_shading,cgan40_texture   # the cgan's pokemon40 default

Each row is one `python -m genzoo.tools.train --model=dcgan` run on `--dataset` with
explicit `--hparams` (the data-efficient recipe minus one ingredient, or the plain game), then
`python -m genzoo.tools.evaluate --num_samples=500 --checkpoint=latest` (the GAN's
`monitor` g_loss says nothing about sample quality, so the newest weights are scored,
not the "best" by g_loss); with `--quality_every` training scores its samples every that many
epochs and keeps the best checkpoint by that score, and each row is also evaluated at that
checkpoint (`eval_best/`, a second table line); with `--keep_scored --evaluate_scored=K` also at the K other
kept checkpoints with the lowest training-time score (`eval_scored-STEP/`, a line each). Rows run one after the other in subprocesses, each with
`nice -n 5`; a row whose evaluation exists is skipped, so an interrupted ablation
resumes (the training's log goes on after the interrupted part's; its seconds, this part's only, say
"(resumed)"). The table gives the C2ST accuracy of samples against held-out images (mean
+- spread over the sampling seeds), near-copies of training sprites, steps and wall
time; each row's 8x8 grid is copied to `--figures` as gan_<dataset>_<row>.png.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time

# Rows spell out every recipe hyper-parameter, so they keep their meaning when the dataset's defaults change.
RECIPE = "loss=hinge,augment=color+translation+cutout,spectral_norm=true,r1_gamma=0.1,regions=0"  # DATA_EFFICIENT_RECIPE
OLD_DEFAULTS = "loss=non_saturating,augment=none,spectral_norm=false,r1_gamma=0,regions=0"  # PLAIN_RECIPE
REGIONS = OLD_DEFAULTS + ",regions=16,region_gain_end=0,region_background=false"  # the plain game painting 16 flat regions, constant gain
ANNEALED = REGIONS + ",region_gain_end=8,region_anneal_steps=2310"  # the gain annealed 1 -> 8 (with regions=32: SMALL_DATA_RECIPE)
CGAN40 = (ANNEALED + ",regions=32,region_background=true,aux_twin=true,projection=false,shading=0.5,outline=0.8,"
          "texture_weight=0,inner_lines=0,parts=0")
# The dcgan_pokemon40 preset's recipe: the dcgan's pokemon40 default (SPRITES40_PARTS_RECIPE) + shade_steps=1
PRESET40 = (ANNEALED + ",regions=32,region_background=true,shading=0.5,shade_steps=1,parts=3,inner_lines=1,"
            "lines_grey=82,outline=1,outline_grey=49")
ROWS = {  # row name -> --hparams: a recipe with one ingredient changed (the last value of a key wins)
    "recipe": RECIPE,
    "old_defaults": OLD_DEFAULTS,
    "no_augment": RECIPE + ",augment=none",
    "no_color": RECIPE + ",augment=translation+cutout",  # DiffAugment without its colour transformations
    "no_spectral_norm": RECIPE + ",spectral_norm=false,d_norm=none",
    "no_r1": RECIPE + ",r1_gamma=0",
    "non_saturating": RECIPE + ",loss=non_saturating",
    "no_ema": RECIPE + ",ema_decay=0",
    # DiffAugment on the plain game (batch norm in D, non-saturating loss)
    "plain_diffaugment": OLD_DEFAULTS + ",augment=color+translation+cutout",
    "plain_translation_cutout": OLD_DEFAULTS + ",augment=translation+cutout",
    # The small-data default (regions) and its variants; its "minus regions" row is old_defaults
    "regions": REGIONS,
    "regions_no_ema": REGIONS + ",ema_decay=0",
    "regions_32": REGIONS + ",regions=32",
    "regions_hard": REGIONS + ",hard_regions=true",
    "regions_f64": REGIONS + ",filters=64",
    "regions_r1": REGIONS + ",r1_gamma=1",
    "regions_recipe": RECIPE + ",regions=16,region_gain_end=0,region_background=false",
    # The region gain annealed from 1 to 8 over 2,310 generator steps (the default since 2026-12-05)
    "regions_annealed": ANNEALED,
    "regions_annealed_32": ANNEALED + ",regions=32",
    # Region 0 the background (with --dataset=pokemon40: the default there since 2026-12-05)
    # (the dcgan's pokemon40 default from 2026-12-05 to 2026-12-06: the later default's keys spelt out as off)
    "regions_annealed_32_background": ANNEALED + ",regions=32,region_background=true,shading=0,parts=0,inner_lines=0,"
                                      "outline=0",
    # The cgan's default on pokemon40 (SPRITES40_CONDITIONAL_RECIPE; shade and outline since 2026-12-05,
    # the texture term dropped on 2026-12-06) with each of its newer ingredients removed or added in turn;
    # run with --model=cgan --dataset=pokemon40 --quality_every=20.
    "cgan40": CGAN40,
    "cgan40_no_outline": CGAN40 + ",outline=0",
    "cgan40_no_shading": CGAN40 + ",shading=0",
    "cgan40_texture": CGAN40 + ",texture_weight=10",  # the default from 2026-12-05 to 2026-12-06
    "cgan40_outline_only": CGAN40 + ",shading=0",
    "cgan40_no_twin": CGAN40 + ",aux_twin=false",
    "cgan40_projection": CGAN40 + ",projection=true",
    "cgan40_inner_lines": CGAN40 + ",inner_lines=0.8",
    "cgan40_inner_lines_no_shading": CGAN40 + ",inner_lines=0.8,shading=0",
    # Bodies in at least three confident regions (the parts term), alone and with lines between them
    "cgan40_parts": CGAN40 + ",parts=3",
    "cgan40_parts_inner_lines": CGAN40 + ",parts=3,inner_lines=0.8",
    "cgan40_parts_light_lines": CGAN40 + ",parts=3,inner_lines=0.5",  # lines dark, not black, as the sprites'
    # The outline and the lines in the sprites' own flat greys (49 and 82 of 255), at full strength
    "cgan40_parts_grey_lines": CGAN40 + ",parts=3,inner_lines=1,lines_grey=82,outline=1,outline_grey=49",
    # ... and without the stray specks (two passes of despeckle)
    "cgan40_parts_grey_lines_despeckle": CGAN40 + ",parts=3,inner_lines=1,lines_grey=82,outline=1,outline_grey=49,"
                                                  "despeckle=2",
    # The self-supervised discriminator (FastGAN's decoder on D's features), on the cgan's and the dcgan's
    # pokemon40 defaults (the latter with --model=dcgan --dataset=pokemon40)
    "cgan40_recon": CGAN40 + ",recon_weight=1",
    "cgan40_parts_inner_lines_recon": CGAN40 + ",parts=3,inner_lines=0.8,recon_weight=1",
    "regions_annealed_32_background_recon": ANNEALED + ",regions=32,region_background=true,shading=0,parts=0,"
                                            "inner_lines=0,outline=0,recon_weight=1",
    # The cgan's grey-lines parts picture on the dcgan's pokemon40 default (--model=dcgan --dataset=pokemon40):
    # that default since 2026-12-06, spelt out
    "dcgan40_parts_grey_lines": ANNEALED + ",regions=32,region_background=true,shading=0.5,parts=3,inner_lines=1,"
                                "lines_grey=82,outline=1,outline_grey=49",
    # ... with the shade in three tones (shadow, colour, light): its giveaway is too many visible colours per
    # pixel, the continuous shade mottling the parts
    "dcgan40_parts_grey_lines_shade_steps": PRESET40,
    # ... with the region gain's anneal stretched over the whole run (3,300 steps instead of 2,310), to test whether
    # the late breakdowns follow the anneal's end: they do not (the discriminator's outright win; docs/gan.md)
    "dcgan40_parts_grey_lines_shade_steps_anneal3300": PRESET40 + ",region_anneal_steps=3300",
    # ... the preset's recipe with adaptive augmentation (ADA, target 0.6; xflip, quarter turns, whole-pixel
    # translation, brightness, contrast, saturation) against the discriminator's outright win
    "dcgan40_parts_grey_lines_shade_steps_ada": PRESET40 + ",ada_target=0.6",
    # ... with ADA's target at 0.9: r sat at 0.62-0.83 at 0.6 without memorisation (batch-norm D), so p should
    # stay near 0 until the discriminator's training accuracy nears 1 (the late breakdown's first sign)
    "dcgan40_parts_grey_lines_shade_steps_ada09": PRESET40 + ",ada_target=0.9",
    # ... the preset's recipe with the silhouette discriminator (body masks only) at the adversarial term's weight,
    # against the blob-shaped bodies (thin parts, enclosed background)
    "dcgan40_parts_grey_lines_shade_steps_silhouette": PRESET40 + ",silhouette_weight=1",
    # ... at a tenth of that weight (at 1 the silhouette discriminator won outright from epoch ~50, seed 1)
    "dcgan40_parts_grey_lines_shade_steps_silhouette01": PRESET40 + ",silhouette_weight=0.1",
    # ... at 0.3 with the masks translated and cut out as well as mirrored (it memorised flipped masks at 1 and 0.1)
    "dcgan40_parts_grey_lines_shade_steps_silhouette03_aug": PRESET40 + ",silhouette_weight=0.3,"
                                                             "silhouette_augment=xflip+translation+cutout",
    # ... with a local (PatchGAN) discriminator on 12 x 12 windows at the adversarial term's weight and at 0.3, for the
    # small details (eyes, accents) that the sprites have and no GAN painted (docs/gan.md, "Colour patches")
    "dcgan40_parts_grey_lines_shade_steps_patch1": PRESET40 + ",patch_weight=1",
    "dcgan40_parts_grey_lines_shade_steps_patch03": PRESET40 + ",patch_weight=0.3",
    # ... with the LeCam regulariser at the paper's 0.3 (Tseng et al. 2021), which anchors each side's scores to the
    # other's moving average, against the late breakdown (the discriminator memorises, then wins outright)
    "dcgan40_parts_grey_lines_shade_steps_lecam03": PRESET40 + ",lecam_weight=0.3",
    # ... at a third of it (at 0.3 no breakdown on seed 2, but jagged bodies broken by lines and 0.82-0.91 to epoch 140)
    "dcgan40_parts_grey_lines_shade_steps_lecam01": PRESET40 + ",lecam_weight=0.1",
    # ... with a generator twice as wide (64 filters, the discriminator's 32 kept): the bodies are blobs without
    # eyes or limbs, and the generator's last stage paints 40 x 40 region maps from 32 channels
    "dcgan40_parts_grey_lines_shade_steps_g64": PRESET40 + ",g_filters=64",
    # ... with three flat accent colours per image, each on the 4 body pixels its map ranks highest, after the shade
    # and the lines (eyes, highlights: the sprites' small colour patches, which lines would cover in a region that small)
    "dcgan40_parts_grey_lines_shade_steps_accents3x4": PRESET40 + ",accents=3,accent_pixels=4",
    # ... with the region logits and the shade smoothed over 2 x 2 blocks: smooth edges, outlines and borders where
    # the preset's are ragged, one pixel wide spikes and specks (the sprites' outlines are smooth curves)
    "dcgan40_parts_grey_lines_shade_steps_smooth2": PRESET40 + ",region_smooth=2",
    # ... both: smooth bodies and accents on them
    "dcgan40_parts_grey_lines_shade_steps_smooth2_accents3x4": PRESET40 + ",region_smooth=2,accents=3,accent_pixels=4",
    # ... with only the body's edge smoothed (the background's logit and the shade): clean outlines, while the parts
    # inside keep pixel-fine borders (smoothing every region drew pastel stripes inside and rounder bodies)
    "dcgan40_parts_grey_lines_shade_steps_smooth2edge_accents3x4": (PRESET40 + ",region_smooth=2,region_smooth_parts="
                                                                    "False,accents=3,accent_pixels=4"),
    # DiffAugment's translation alone (no colour change, no holes) against the discriminator's early win
    "cgan40_translation": CGAN40 + ",augment=translation",
}


def run(cmd: list[str], log: str, append: bool = False) -> float:
    """Runs `cmd` niced, its output into `log` (after what is there with `append`); the seconds it took."""
    start = time.time()
    with open(log, "a" if append else "w") as f:
        subprocess.run(["nice", "-n", "5", *cmd], stdout=f, stderr=subprocess.STDOUT, check=True)
    return time.time() - start


def stop_children_on_sigterm() -> None:
    """`kill PID` of this tool stops the training it runs too: SIGTERM becomes SystemExit, on which `subprocess.run`
    kills its child (Ctrl-C reaches the whole process group anyway; a plain kill left the row training on)."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def train_and_evaluate(args, row: str) -> None:
    model_dir = os.path.join(args.runs, row)
    if not os.path.exists(os.path.join(model_dir, "eval", "metrics.json")):
        train_and_evaluate_latest(args, row, model_dir)
    for step in scored_steps(model_dir, args.evaluate_scored):
        out = os.path.join(model_dir, f"eval_scored-{step}")
        if not os.path.exists(os.path.join(out, "metrics.json")):
            checkpoint = os.path.join(model_dir, "checkpoints", "scored", f"scored-{step}")
            run([*evaluate_command(args, model_dir), f"--checkpoint={checkpoint}", f"--out={out}"], out + ".log")


def evaluate_command(args, model_dir: str) -> list[str]:
    """`evaluate` of a row's run, as every table line is measured (a checkpoint and --out are added)."""
    return [sys.executable, "-m", "genzoo.tools.evaluate", f"--model_dir={model_dir}", "--num_samples=500",
            f"--num_seeds={args.num_seeds}"]


def scored_steps(model_dir: str, k: int) -> list[int]:
    """The steps of the k kept scored checkpoints (--keep_scored) with the lowest training-time C2ST, lowest
    first (ties: the later step first), leaving out the hook's best (`eval_best/` scores it); none without k
    or without kept checkpoints."""
    scored_dir = os.path.join(model_dir, "checkpoints", "scored")
    if not k or not os.path.isdir(scored_dir):
        return []
    with open(os.path.join(model_dir, "history.json")) as f:
        rows = [r for r in json.load(f) if "quality/c2st" in r]
    best = best_steps(model_dir)
    kept = [r for r in rows if os.path.exists(os.path.join(scored_dir, f"scored-{r['step']}.index"))
            and r["step"] not in best]
    return [r["step"] for r in sorted(kept, key=lambda r: (r["quality/c2st"], -r["step"]))[:k]]


def best_steps(model_dir: str) -> set[int]:
    """The steps of the hook's best checkpoints in a run (`checkpoints/best/best-STEP.index`)."""
    best_dir = os.path.join(model_dir, "checkpoints", "best")
    names = os.listdir(best_dir) if os.path.isdir(best_dir) else []
    return {int(_step(n)) for n in names if n.startswith("best-") and n.endswith(".index") and _step(n).isdigit()}


def train_and_evaluate_latest(args, row: str, model_dir: str) -> None:
    hparams = ROWS[row]
    train = [sys.executable, "-m", "genzoo.tools.train", f"--model={args.model}", f"--dataset={args.dataset}",
             f"--data_dir={args.data_dir}", f"--model_dir={model_dir}", f"--epochs={args.epochs}",
             f"--seed={args.seed}", "--checkpoint_every=500", *([f"--hparams={hparams}"] if hparams else []),
             *([f"--quality_every={args.quality_every}"] if args.quality_every else []),
             *(["--keep_scored"] if args.keep_scored else [])]
    # A row's training resumes where an interrupted one stopped: its log goes on after the first part's, and
    # the seconds (only this part's: an interrupted part never wrote its own) say so.
    log = model_dir + ".train.log"
    resumed = os.path.exists(log) and os.path.getsize(log) > 0
    seconds = run(train, log, append=True)
    with open(model_dir + ".seconds", "w") as f:
        f.write(f"{seconds:.0f}{' (resumed)' if resumed else ''}\n")
    evaluate = evaluate_command(args, model_dir)
    if args.quality_every:  # the best checkpoint by the training-time score, then the latest
        run([*evaluate, f"--out={model_dir}/eval_best"], model_dir + ".eval_best.log")
    run([*evaluate, "--checkpoint=latest"], model_dir + ".eval.log")


def summarise(args) -> str:
    lines = ["| row | hparams | checkpoint (step) | train wall (s) | C2ST vs held-out | near-copies | grid |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for row in sorted(os.listdir(args.runs)):
        if not os.path.isdir(os.path.join(args.runs, row)):
            continue
        scored = scored_folders(os.path.join(args.runs, row))
        for folder, suffix in (("eval_best", "_best"), ("eval", ""), *((f, "_" + f[5:]) for f in scored)):
            metrics_path = os.path.join(args.runs, row, folder, "metrics.json")
            if os.path.exists(metrics_path):
                lines.append(_table_line(args, row, folder, suffix, metrics_path))
    return "\n".join(lines)


def scored_folders(model_dir: str) -> list[str]:
    """The `eval_scored-STEP` folders of a run, by step (their logs beside them are not folders)."""
    folders = [f for f in os.listdir(model_dir)
               if f.startswith("eval_scored-") and os.path.isdir(os.path.join(model_dir, f))]
    return sorted(folders, key=lambda f: int(f.split("-")[1]))


def _table_line(args, row: str, folder: str, suffix: str, metrics_path: str) -> str:
    with open(metrics_path) as f:
        metrics = json.load(f)
    c2st = metrics["two_sample"]["samples_vs_heldout"]["c2st"]
    copies = f"{100 * metrics['memorisation']['near_copy_share']:.1f}%"
    seconds_path = os.path.join(args.runs, row + ".seconds")
    seconds = "?"
    if os.path.exists(seconds_path):
        with open(seconds_path) as f:
            seconds = f.read().strip()
    figure = os.path.join(args.figures, f"gan_{args.dataset}_{row}{suffix}.png")
    os.makedirs(args.figures, exist_ok=True)
    shutil.copy(os.path.join(args.runs, row, folder, "samples.png"), figure)
    kind = "scored" if suffix.startswith("_scored") else "best" if suffix else "latest"
    checkpoint = f"{kind} ({_step(metrics['checkpoint'])})"
    return (f"| {row} | {ROWS.get(row, '?') or '(recipe)'} | {checkpoint} | {seconds} | "
            f"{c2st['accuracy']:.3f} ± {c2st['std']:.3f} | {copies} | {figure} |")


def _step(checkpoint: str) -> str:
    """The step in a checkpoint's file name (`.../ckpt-2200.weights.h5` -> 2200), else the name."""
    digits = "".join(ch for ch in os.path.basename(checkpoint).split(".")[0] if ch.isdigit())
    return digits or os.path.basename(checkpoint)


def pixel_statistics(args) -> None:
    """Per run: share of background (index 0), near-white palette entries, isolated pixels (unlike
    all 4 neighbours) and distinct colours per sprite, over 500 samples (seed 0) and the held-out sprites."""
    import numpy as np

    from genzoo import data
    from genzoo.training.runs import load_model

    ds, spec = data.load(args.dataset, "test", data_dir=args.data_dir)
    palette = np.array(spec.palette)
    near_white = np.where((palette.min(axis=1) >= 240) & (np.arange(len(palette)) != 0))[0]

    def stats(x):
        x = np.asarray(x).reshape(len(x), spec.height, spec.width)
        c = x[:, 1:-1, 1:-1]
        isolated = (c != x[:, :-2, 1:-1]) & (c != x[:, 2:, 1:-1]) & (c != x[:, 1:-1, :-2]) & (c != x[:, 1:-1, 2:])
        colours = np.mean([len(np.unique(i)) for i in x])
        return (f"background {(x == 0).mean():.3f}  near-white {np.isin(x, near_white).mean():.4f}  "
                f"isolated {isolated.mean():.3f}  colours/sprite {colours:.1f}")

    print(f"{'held-out sprites':30s}", stats(np.concatenate([b["image"].numpy() for b in ds.batch(1000)])))
    for run_dir in args.pixel_stats.split(","):
        model, _ = load_model(run_dir)
        print(f"{os.path.basename(run_dir):30s}", stats(model.sample(500, seed=0).numpy()))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data_dir", default="../shared/data/pokemon")
    parser.add_argument("--dataset", default="pokemon")
    parser.add_argument("--model", default="dcgan")
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0, help="the training seed of every row")
    parser.add_argument("--keep_scored", action="store_true",
                        help="with --quality_every: keep every scored epoch's checkpoint, for evaluate to choose among")
    parser.add_argument("--evaluate_scored", type=int, default=0,
                        help="with --keep_scored: also evaluate the K kept checkpoints with the lowest training-time "
                             "C2ST (eval_scored-STEP/), where the hook's one-seed pick is noisy")
    parser.add_argument("--quality_every", type=int, default=0,
                        help="score samples every N epochs in training, keep the best checkpoint by that "
                             "score and evaluate it too (0: only the latest)")
    parser.add_argument("--num_seeds", type=int, default=3, help="sampling seeds of each evaluation")
    parser.add_argument("--rows", default=",".join(ROWS), help="comma-separated row names: " + ", ".join(ROWS))
    parser.add_argument("--runs", default="runs/gan_ablation")
    parser.add_argument("--figures", default="docs/figures")
    parser.add_argument("--summarise", action="store_true", help="only tabulate the evaluated rows in --runs")
    parser.add_argument("--pixel_stats", default="", help="comma-separated run folders (palette data): speckle "
                        "statistics of their samples beside the held-out sprites'")
    args = parser.parse_args()
    if args.evaluate_scored < 0 or (args.evaluate_scored and not args.keep_scored):
        parser.error(f"--evaluate_scored needs --keep_scored and K >= 0, got {args.evaluate_scored}")
    if args.pixel_stats:
        return pixel_statistics(args)
    if not args.summarise:
        stop_children_on_sigterm()
        os.makedirs(args.runs, exist_ok=True)
        for row in args.rows.split(","):
            if row not in ROWS:
                parser.error(f"unknown row {row!r}; choose from {', '.join(ROWS)}")
            train_and_evaluate(args, row)
    print(summarise(args))


if __name__ == "__main__":
    main()
