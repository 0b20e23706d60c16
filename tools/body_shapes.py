"""How sprite-like the bodies' shapes are, for samples beside the sprites (docs/gan.md, "Body shapes").

  python tools/body_shapes.py runs/cgan40 [runs/other ...] [--preset=cgan_pokemon40 ...] [--checkpoint=best] \
      [--num=500] [--dataset=pokemon40 --data_dir=../shared/data/pokemon]

A picture measure beside the C2ST: where the test's pixel statistics cannot tell a stray speck from
fine texture, or a limb from a blob, these count them. Per source (the dataset's training and test
sprites, then `--num` samples of each run, sampling seed 0) one line, over the body pixels (not
white: some channel below 247 of 255):
- pieces: 8-connected body pieces per image, and the share of images in one piece;
- specks: the share of images with a piece of at most 4 pixels beside a larger piece;
- lone: the share of body pixels with fewer than two body 8-neighbours (what `despeckle` removes);
and of each image's largest piece, its body (fragments beside it are not limbs):
- thin: the share of its pixels a 3x3 opening removes: parts under three pixels wide (legs, tails,
  ears, antennae, horns);
- fill: its pixels over its bounding box's (a blob fills more of it than a creature with limbs);
- holes: the background it encloses (not 4-connected to the border), per pixel of it.
"""

from __future__ import annotations

import sys

import numpy as np

import picture_report

WHITE = picture_report.WHITE
SPECK = 4  # a piece of at most this many pixels beside a larger one is a speck


def _shifts(mask, fill):
    """`[N, H, W]` -> the 8 neighbours' values `[8, N, H, W]`, `fill` outside the image."""
    padded = np.pad(mask, ((0, 0), (1, 1), (1, 1)), constant_values=fill)
    h, w = mask.shape[1:]
    return np.stack([padded[:, 1 + dy:1 + dy + h, 1 + dx:1 + dx + w]
                     for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx])


def pieces(body):
    """Boolean `[N, H, W]` -> int labels `[N, H, W]` of the 8-connected pieces (0: background)."""
    return picture_report.components(np.where(body, 0, -1), diagonal=True)


def _enclosed(background):
    """Background pixels not 4-connected to the image's border."""
    outside = np.zeros_like(background)
    outside[:, [0, -1], :] = background[:, [0, -1], :]
    outside[:, :, [0, -1]] = background[:, :, [0, -1]]
    while True:
        p = np.pad(outside, ((0, 0), (1, 1), (1, 1)))
        grown = background & (outside | p[:, :-2, 1:-1] | p[:, 2:, 1:-1] | p[:, 1:-1, :-2] | p[:, 1:-1, 2:])
        if np.array_equal(grown, outside):
            return background & ~outside
        outside = grown


def body_shapes(rgb) -> dict:
    """uint8 RGB `[N, H, W, 3]` on a white background -> the shares above."""
    rgb = picture_report.rgb_images(rgb, "body_shapes")
    body = rgb.min(-1) < WHITE
    labels = pieces(body)
    counts, specks, main = [], [], np.zeros_like(body)
    for i, image in enumerate(labels):
        ids, sizes = np.unique(image[image > 0], return_counts=True)
        counts.append(len(sizes))
        specks.append(len(sizes) > 1 and sizes.min() <= SPECK)
        if len(sizes):
            main[i] = image == ids[sizes.argmax()]
    # The shape measures read each image's largest piece, so fragments beside it count as specks, not limbs.
    eroded = main & _shifts(main, False).all(0)
    opened = eroded | (_shifts(eroded, False).any(0) & main)
    rows, cols = main.any(2), main.any(1)
    box = [(np.ptp(np.flatnonzero(r)) + 1) * (np.ptp(np.flatnonzero(c)) + 1) for r, c in zip(rows, cols) if r.any()]
    from genzoo.models.gan.networks import despeckle

    # Lone pixels are what one pass of the GAN's `despeckle` turns into background (one-hot background/body).
    kept = np.asarray(despeckle(np.stack([~body, body], -1).astype(np.float32)))[..., 1] > 0.5
    lone = body & ~kept
    size = max(int(main.sum()), 1)
    return {"pieces": float(np.mean(counts)), "one_piece": float(np.mean(np.equal(counts, 1))),
            "specks": float(np.mean(specks)), "lone": float(lone.sum() / max(int(body.sum()), 1)),
            "thin": float((main & ~opened).sum() / size), "fill": float(main.sum() / max(sum(box), 1)),
            "holes": float(_enclosed(~main).sum() / size)}


def line(name: str, s: dict) -> str:
    return (f"{name}: pieces {s['pieces']:.2f} per image ({s['one_piece']:.2f} in one), specks {s['specks']:.2f} "
            f"of images, lone {s['lone']:.4f}, thin {s['thin']:.3f}, fill {s['fill']:.2f}, holes {s['holes']:.3f}")


def main(argv=None) -> int:
    return picture_report.main(argv, __doc__, body_shapes, line)


if __name__ == "__main__":
    sys.exit(main())
