"""Per-image pixel statistics: how flat, speckled or mottled an image's colour regions are.

A small CNN trained on a few dozen images per side (the classifier two-sample test)
learns shapes, colours and orientation, but not pixel texture: Gaussian noise of
sigma 32 grey levels on real sprites, which a person sees at once, scored 0.548
(chance) in the C2ST calibration. These seven numbers per image describe exactly
that texture, so `two_sample.c2st` gives them to its classifier beside the pixels
(docs/evaluation.md, "Calibration").

All are shares in [0, 1], computed on uint8 RGB, with the difference of two pixels
taken as the largest of their three channel differences (0-255):

* `steps 0-24`, `25-64`, `65-128`, `129-255`: the histogram of the differences
  between each pixel and its right and lower neighbours. Pixel art has most of its
  mass in flat regions (0-24) and at outlines (129-255); noise and mottled colour
  move it into the middle bins, blur from the outlines into the small steps.
* `speckle`: pixels unlike all of their (up to four) neighbours by more than 48;
  `faint speckle`: by 25-48.
* `colours per pixel`: distinct colours, each channel rounded down to a multiple of
  64 (visible colours, not shades of one), over the number of pixels.

Faint differences (up to 24 levels) count as flat on purpose: a person does not see
them in a sprite. On the `pokemon` held-out sprites (20x20, palette) the seven
means are 0.54, 0.08, 0.13, 0.25, speckle 0.09, faint 0.04, colours 0.02; with sigma-32
noise on training sprites 0.12, 0.35, 0.24, 0.29, 0.34, 0.35, 0.09; the `dcgan`'s
speckled samples 0.38, 0.21, 0.20, 0.21, 0.19, 0.18, 0.05.
"""

from __future__ import annotations

import itertools

import numpy as np

__all__ = ["NAMES", "compare", "furthest", "pixel_statistics"]

NAMES = ("steps 0-24", "steps 25-64", "steps 65-128", "steps 129-255", "speckle", "faint speckle",
         "colours per pixel")
_STEP_EDGES = (24, 64, 128, 255)  # bins of the neighbour steps: [0, 24], (24, 64], ...
_SPECKLE = 48                     # unlike all four neighbours by more than this: a speckle pixel
_COLOUR_LEVELS = 64               # colours counted after rounding each channel down to a multiple of this


def _difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Largest channel difference of two int16 RGB arrays: [..., 3] -> [...]."""
    return np.abs(a - b).max(-1)


def pixel_statistics(rgb) -> np.ndarray:
    """uint8 RGB `[N, H, W, 3]` -> float32 `[N, 7]`, the statistics of `NAMES` per image."""
    x = np.asarray(rgb)
    if x.ndim != 4 or x.shape[-1] != 3 or x.dtype != np.uint8:
        raise ValueError(f"rgb must be uint8 RGB [N, H, W, 3], got {x.dtype} {x.shape}")
    x = x.astype(np.int16)
    n = len(x)
    steps = np.concatenate([_difference(x[:, 1:], x[:, :-1]).reshape(n, -1),
                            _difference(x[:, :, 1:], x[:, :, :-1]).reshape(n, -1)], 1)
    low = _STEP_EDGES[0]
    histogram = [(steps <= low).mean(1)] + [((steps > lo) & (steps <= hi)).mean(1)
                                            for lo, hi in itertools.pairwise(_STEP_EDGES)]
    # Outside the image: a colour no pixel is near, so a border pixel is judged by its real neighbours.
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), constant_values=-1024)
    centre = padded[:, 1:-1, 1:-1]
    neighbours = (padded[:, :-2, 1:-1], padded[:, 2:, 1:-1], padded[:, 1:-1, :-2], padded[:, 1:-1, 2:])
    nearest = np.min([_difference(centre, other) for other in neighbours], 0).reshape(n, -1)
    coarse = x // _COLOUR_LEVELS
    colours = [len(np.unique(image.reshape(-1, 3), axis=0)) / (x.shape[1] * x.shape[2]) for image in coarse]
    return np.stack(histogram + [(nearest > _SPECKLE).mean(1), ((nearest > low) & (nearest <= _SPECKLE)).mean(1),
                                 np.asarray(colours)], 1).astype(np.float32)


def compare(real_rgb, fake_rgb) -> dict:
    """Each statistic on both sides: `{name: {"real": mean, "generated": mean, "auc": AUC}}`.

    `auc` is the chance that a generated image's value exceeds a real image's (ties count
    half; the Mann-Whitney statistic over all pairs): 0.5 where the two sides agree, 0 or 1
    where the statistic alone separates them. It says which texture gives a model's samples
    away when the C2ST, which sees the statistics, tells them apart.
    """
    real, fake = pixel_statistics(real_rgb), pixel_statistics(fake_rgb)
    out = {}
    for i, name in enumerate(NAMES):
        r, f = real[:, i][None, :], fake[:, i][:, None]
        auc = float(np.mean(f > r) + 0.5 * np.mean(f == r))
        out[name] = {"real": float(real[:, i].mean()), "generated": float(fake[:, i].mean()), "auc": auc}
    return out


def furthest(comparison: dict, count: int = 2) -> str:
    """The `count` statistics of a `compare` result whose AUC is furthest from 0.5, as one line."""
    names = sorted(comparison, key=lambda n: -abs(comparison[n]["auc"] - 0.5))[:count]
    return ", ".join(f"{n} (AUC {comparison[n]['auc']:.2f}: generated {comparison[n]['generated']:.3f}, "
                     f"real {comparison[n]['real']:.3f})" for n in names)
