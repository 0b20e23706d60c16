"""How many hues a body is painted in, for samples beside the sprites (docs/gan.md, "Hues per body").

  python tools/body_colours.py runs/dcgan40 [runs/other ...] [--preset=dcgan_pokemon40 ...] [--checkpoint=best] \
      [--num=500] [--one_body] [--dataset=pokemon40 --data_dir=../shared/data/pokemon]

A Pokémon sprite is mostly one colour family with an accent; a patchwork of unrelated colours reads as a
blob, however clean its outline. Per source (the dataset's training and test sprites, then `--num` samples
of each run, sampling seed 0) one line, over the images with at least `MIN_COLOURFUL` colourful body pixels
(saturation (max - min) / max at least 0.25 and largest channel at least 64: outlines, greys, black and
white are left out):
- colourful: the share of body pixels (not white) that are colourful;
- spread: the circular spread of their hues, 1 - |mean of exp(i hue)| weighted by saturation (0: one hue,
  near 1: hues all round the circle);
- hues: how many of 12 hue sectors of 30 degrees hold at least 10% of the colourful pixels;
- main: the share of the colourful pixels within 45 degrees of the image's weighted mean hue;
- patches: how many patches of at least `MIN_PATCH` pixels the colourful pixels form, a patch being 4-connected
  pixels of one hue sector (a part's shading tones mostly stay in its sector); small: those of fewer than
  `LARGE_PATCH` pixels (an eye, a tail tip, a hue-shifted shading tone: the details); largest: the largest
  patch's share of the colourful pixels.
"""

from __future__ import annotations

import sys

import numpy as np

import picture_report

WHITE = picture_report.WHITE
MIN_SATURATION, MIN_VALUE = 0.25, 64
MIN_COLOURFUL = 10  # fewer colourful pixels than this: the image is left out
SECTORS, SECTOR_SHARE = 12, 0.10
MIN_PATCH = 4  # smaller same-sector patches (shading specks, single pixels) are not counted as patches
LARGE_PATCH = 16  # a patch of at least this many pixels is a part, not a detail


def hue_saturation(rgb):
    """uint8 RGB `[..., 3]` -> hue in radians [0, 2 pi), saturation (max - min) / max, value max (0-255)."""
    c = np.asarray(rgb, np.float64)
    r, g, b = c[..., 0], c[..., 1], c[..., 2]
    value, low = c.max(-1), c.min(-1)
    chroma = value - low
    safe = np.where(chroma > 0, chroma, 1.0)
    hue = np.where(value == r, ((g - b) / safe) % 6, np.where(value == g, (b - r) / safe + 2, (r - g) / safe + 4))
    return hue * (np.pi / 3), np.where(value > 0, chroma / np.where(value > 0, value, 1.0), 0.0), value


def patches(classes):
    """int `[N, H, W]` classes (-1: none) -> int labels `[N, H, W]` of the 4-connected patches of one class
    (0: none)."""
    return picture_report.components(classes)


def body_colours(rgb) -> dict:
    """uint8 RGB `[N, H, W, 3]` on a white background -> the means above (and how many images counted)."""
    rgb = picture_report.rgb_images(rgb, "body_colours")
    hue, saturation, value = hue_saturation(rgb)
    body = rgb.min(-1) < WHITE
    colourful = body & (saturation >= MIN_SATURATION) & (value >= MIN_VALUE)
    sector = (hue // (2 * np.pi / SECTORS)).astype(int) % SECTORS
    labels = patches(np.where(colourful, sector, -1))
    rows = []
    for h, s, keep, b, patch, sec in zip(hue, saturation, colourful, body, labels, sector):
        if keep.sum() < MIN_COLOURFUL:
            continue
        h, w = h[keep], s[keep]
        mean = np.sum(w * np.exp(1j * h)) / np.sum(w)
        sectors = np.bincount(sec[keep], minlength=SECTORS) / h.size
        near = np.abs(np.angle(np.exp(1j * (h - np.angle(mean))))) <= np.pi / 4
        sizes = np.unique(patch[keep], return_counts=True)[1]
        rows.append((keep.sum() / b.sum(), 1 - abs(mean), np.sum(sectors >= SECTOR_SHARE), near.mean(),
                     np.sum(sizes >= MIN_PATCH), np.sum((sizes >= MIN_PATCH) & (sizes < LARGE_PATCH)),
                     sizes.max() / keep.sum()))
    names = ("colourful", "spread", "hues", "main", "patches", "small", "largest")
    if not rows:
        return {"images": 0, **{name: float("nan") for name in names}}
    return {"images": len(rows), **{name: float(np.mean(column)) for name, column in zip(names, zip(*rows))}}


def line(name: str, s: dict) -> str:
    return (f"{name}: {s['images']} images, colourful {s['colourful']:.2f} of the body, hue spread "
            f"{s['spread']:.3f}, hues {s['hues']:.2f} per body, main hue {s['main']:.2f}, patches {s['patches']:.2f} per "
            f"body ({s['small']:.2f} small), largest {s['largest']:.2f}")


def main(argv=None) -> int:
    return picture_report.main(argv, __doc__, body_colours, line)


if __name__ == "__main__":
    sys.exit(main())
