"""What tools/dark_pixels.py, tools/body_shapes.py and tools/body_colours.py share: the command line (one
measure of the dataset's sprites, training then test, and of each run's samples, one line per source) and the
labelling of connected pixels (`components`)."""

from __future__ import annotations

import argparse
import sys

import numpy as np

WHITE = 247  # the sprites' background: a pixel with every channel at or above this


def rgb_images(rgb, measure: str) -> np.ndarray:
    """`rgb` as an array, refused unless `[N, H, W, 3]` (the error names the `measure` asked for)."""
    rgb = np.asarray(rgb)
    if rgb.ndim != 4 or rgb.shape[-1] != 3:
        raise ValueError(f"{measure} needs uint8 RGB [N, H, W, 3], got shape {rgb.shape}")
    return rgb


def components(classes, diagonal: bool = False) -> np.ndarray:
    """int `[N, H, W]` classes (-1: none) -> int labels `[N, H, W]` of the connected runs of one class (0: none),
    through the 4 side neighbours, or all 8 with `diagonal`; each run takes the largest of its pixels' indices."""
    n, h, w = classes.shape
    on = classes >= 0
    labels = np.where(on, np.arange(1, n * h * w + 1).reshape(n, h, w), 0)
    moves = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy or dx) and (diagonal or not (dy and dx))]
    padded_classes = np.pad(classes, ((0, 0), (1, 1), (1, 1)), constant_values=-1)
    same = [on & (padded_classes[:, 1 + dy:1 + dy + h, 1 + dx:1 + dx + w] == classes) for dy, dx in moves]
    while True:  # a path of length L settles in L rounds
        padded = np.pad(labels, ((0, 0), (1, 1), (1, 1)))
        grown = labels
        for (dy, dx), ok in zip(moves, same):
            grown = np.maximum(grown, np.where(ok, padded[:, 1 + dy:1 + dy + h, 1 + dx:1 + dx + w], 0))
        if np.array_equal(grown, labels):
            return labels
        labels = grown


def main(argv, doc: str, measure, line) -> int:
    """`measure`: uint8 RGB `[N, H, W, 3]` -> dict; `line(name, dict)` -> the printed line."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("runs", nargs="*", help="run folders of models that sample RGB images")
    parser.add_argument("--preset", action="append", default=[], help="a preset's samples too (repeatable)")
    parser.add_argument("--checkpoint", default="best", help="best, latest or a checkpoint path")
    parser.add_argument("--num", type=int, default=500, help="samples per run (sampling seed 0)")
    parser.add_argument("--one_body", action="store_true",
                        help="sample each run and preset with one_body (its largest body piece only)")
    parser.add_argument("--dataset", default="pokemon40")
    parser.add_argument("--data_dir", default="../shared/data/pokemon")
    args = parser.parse_args(argv)
    if args.num < 1:
        parser.error(f"--num must be >= 1, got {args.num}")
    from genzoo import data, presets
    from genzoo.data import encodings
    from genzoo.errors import UserError
    from genzoo.models.capabilities import OneBody, has
    from genzoo.training import runs

    try:
        for split in ("train", "test"):
            ds, spec = data.load(args.dataset, split, data_dir=args.data_dir)
            images = np.concatenate([b["image"].numpy() for b in ds.batch(1000)])
            print(line(f"{args.dataset} {split} sprites", measure(encodings.to_rgb_uint8(images, spec).numpy())))
        def report(name, model):
            if args.one_body:
                if not has(model, OneBody):
                    raise UserError(f"--one_body: {name} paints no background to keep one body on")
                model.set_one_body(True)
                name += " one_body"
            print(line(name, measure(encodings.to_rgb_uint8(model.sample(args.num, seed=0), model.spec).numpy())))

        for path in args.runs:
            report(f"{path} ({args.checkpoint})", runs.load_model(path, args.checkpoint)[0])
        for name in args.preset:
            report(f"preset {name}", presets.load(name))
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0
