"""How dark a sprite's edge and inside are, for samples beside the sprites (docs/gan.md, "An outline").

  python tools/dark_pixels.py runs/cgan40 [runs/other ...] [--preset=cgan_pokemon40 ...] [--checkpoint=best] \
      [--num=500] [--dataset=pokemon40 --data_dir=../shared/data/pokemon]

Pixel art outlines a body in near-black and draws dark lines between its parts. Per source (the
dataset's training and test sprites, then `--num` samples of each run, sampling seed 0) one line:
- body: the share of pixels that are not background (all channels >= 247 of 255: white);
- edge: the share of body pixels with a background 4-neighbour (outside the image counts as
  background), and how many of them are dark (largest channel below 64);
- inner: the other body pixels, and how many of them are below 64 and below 96;
- grey: of the dark edge pixels and of the inner ones below 96, the share that is a neutral grey (channels
  at most 8 apart): the sprites draw their outline and inner lines in flat greys, not dark tones of the body.
"""

from __future__ import annotations

import sys

import numpy as np

import picture_report

WHITE = picture_report.WHITE
EDGE_DARK, INNER_DARK = 64, 96
GREY_SPREAD = 8  # a pixel whose channels are at most this far apart is a neutral grey


def dark_pixels(rgb) -> dict:
    """uint8 RGB `[N, H, W, 3]` on a white background -> the shares above."""
    rgb = picture_report.rgb_images(rgb, "dark_pixels")
    from genzoo.models.gan.networks import background_edge

    background = rgb.min(-1) >= WHITE
    # The edge the GAN's `outline` paints: body pixels with a background 4-neighbour, outside counting as one.
    edge = np.asarray(background_edge(background[..., None].astype(np.float32)))[..., 0] > 0
    inner = ~background & ~edge
    value = rgb.max(-1)
    grey = value.astype(int) - rgb.min(-1) <= GREY_SPREAD

    def share(flags, mask):
        return float(flags[mask].mean()) if mask.any() else float("nan")

    dark_edge, dark_inner = edge & (value < EDGE_DARK), inner & (value < INNER_DARK)
    return {"body": float((~background).mean()), "edge_share": float(edge.sum() / max((~background).sum(), 1)),
            "edge_below_64": share(value < EDGE_DARK, edge), "inner_below_64": share(value < EDGE_DARK, inner),
            "inner_below_96": share(value < INNER_DARK, inner), "edge_dark_grey": share(grey, dark_edge),
            "inner_dark_grey": share(grey, dark_inner)}


def line(name: str, s: dict) -> str:
    return (f"{name}: body {s['body']:.3f}, edge {s['edge_share']:.3f} of the body ({s['edge_below_64']:.2f} below 64), "
            f"inner below 64 {s['inner_below_64']:.2f}, below 96 {s['inner_below_96']:.2f}; grey: dark edge "
            f"{s['edge_dark_grey']:.2f}, dark inner {s['inner_dark_grey']:.2f}")


def main(argv=None) -> int:
    return picture_report.main(argv, __doc__, dark_pixels, line)


if __name__ == "__main__":
    sys.exit(main())
