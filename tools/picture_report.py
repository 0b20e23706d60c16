"""The command line shared by tools/dark_pixels.py and tools/body_shapes.py: one measure of the dataset's
sprites (training, then test) and of each run's samples, one line per source."""

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
