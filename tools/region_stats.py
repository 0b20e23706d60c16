"""How sharp a region-painting GAN's region maps are (docs/gan.md, "Painting in flat regions").

  python tools/region_stats.py runs/regions [runs/other ...] [--checkpoint=latest] [--num=256]
  python tools/region_stats.py runs/regions --grid=painted.png   # and a picture of what is painted

For each run: the generator's region logits for `--num` codes (seed 1, inference mode), read by
`GAN.painted`, and per run one line with
- the mean probability of each pixel's most likely region (1/K: flat; 1: one region per pixel),
- the standard deviation of a pixel's logits across the K regions, averaged,
- the mean distance between two of an image's K colours (RGB in [-1, 1]),
- how many of the K regions an image uses, and how often a pixel's region is its right neighbour's,
- its body parts: exp(I), I the mutual information between a body pixel and its body region
  (`genzoo.models.gan.parts.body_parts`), the number of equally used regions each body is painted in.
`--ema` reads the averaged generator (what `sample` draws) instead of the trained one.
In training the generator paints the softmax mixture, so a flat softmax paints grey blends.
`--grid` (one run) writes 16 codes in four rows: the trained generator in training mode (the
mixture the discriminator sees) and in inference (each pixel's most likely region), then the
same for the averaged generator that `sample` uses.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np


def generator_inputs(model, num: int):
    """`num` codes drawn with seed 1 (and, for a conditional model, the labels 0, 1, 2, ... cycled)."""
    import keras

    codes = keras.random.normal((num, model.latent_dim), seed=1)
    return [codes, keras.ops.arange(num, dtype="int32") % model.num_classes] if model.num_classes else codes


def region_stats(model, num: int, ema: bool = False) -> dict:
    """The statistics above for a model with `regions` (its averaged generator's with `ema`)."""
    from genzoo.models.gan.parts import body_parts

    # With the gain it trained with last (and a background region's lead and colour).
    logits, colours = (np.asarray(t) for t in model.painted(generator_inputs(model, num), training=False, ema=ema)[1:])
    k = logits.shape[-1]
    weights = np.exp(logits - logits.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    distances = np.linalg.norm(colours[:, :, None] - colours[:, None], axis=-1).sum((1, 2)) / (k * (k - 1))
    chosen = logits.argmax(-1)
    return {"max_probability": float(weights.max(-1).mean()), "logit_std": float(logits.std(-1).mean()),
            "colour_distance": float(distances.mean()), "regions": k,
            "regions_used": float(np.mean([len(np.unique(c)) for c in chosen])),
            "same_as_right": float(np.mean(chosen[:, :, 1:] == chosen[:, :, :-1])),
            "parts": float(np.mean(np.exp(body_parts(weights, model.region_background))))}


def painted_rows(model, num: int = 16) -> np.ndarray:
    """uint8 [4 * H, num * W, C]: the rows `--grid` draws."""
    inputs = generator_inputs(model, num)
    rows = [np.concatenate(list(np.asarray(g(inputs, training=training))), axis=1)
            for g in (model.generator, model.ema_generator) for training in (True, False)]
    return np.clip((np.concatenate(rows, axis=0) + 1.0) * 127.5, 0, 255).round().astype(np.uint8)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", help="run folders of dcgan/cgan models trained with regions")
    parser.add_argument("--checkpoint", default="latest", help="best, latest or a checkpoint path")
    parser.add_argument("--num", type=int, default=256, help="codes to draw")
    parser.add_argument("--ema", action="store_true", help="the averaged generator (what sample draws)")
    parser.add_argument("--grid", help="PNG to write (one run): 16 codes painted in training mode and in inference")
    args = parser.parse_args(argv)
    if args.num < 1:
        parser.error(f"--num must be >= 1, got {args.num}")
    if args.grid and len(args.runs) != 1:
        parser.error("--grid draws one run; give one run folder")
    from genzoo.errors import UserError
    from genzoo.models import GAN
    from genzoo.training import runs

    for path in args.runs:
        try:
            model, _ = runs.load_model(path, args.checkpoint)
        except UserError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        if not isinstance(model, GAN) or not model.regions:
            print(f"error: {path}: the model paints no regions (train it with --hparams=regions=K)", file=sys.stderr)
            return 1
        s = region_stats(model, args.num, args.ema)
        print(f"{path}: max. region probability {s['max_probability']:.3f}, logit std {s['logit_std']:.2f}, "
              f"colour distance {s['colour_distance']:.3f}, regions used {s['regions_used']:.1f}/{s['regions']}, "
              f"same region as the right neighbour {s['same_as_right']:.3f}, body parts {s['parts']:.2f}")
        if args.grid:
            from genzoo import images

            rows = painted_rows(model)
            images.save_png(args.grid, np.repeat(np.repeat(rows, 2, axis=0), 2, axis=1))
            print(f"wrote {args.grid}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
