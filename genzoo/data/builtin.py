"""`shapes`: the built-in procedural dataset, every tool's default.

Made in code, deterministically, in well under a second: 20x20 palette sprites
in the same format as `pokemon` (index 0 is the white background), each a filled
shape with a black outline. Generative factors, all independent and uniform:
shape (the class label), fill colour, size and position. The palette follows
the lecture's 1-of-N pixel; a model that learns this set draws clean outlines,
one colour per shape and the four shapes in every size and place.
"""

from __future__ import annotations

import numpy as np

from genzoo.data.spec import DatasetSpec

SIZE = 20
SHAPES = ("square", "circle", "triangle", "cross")
FILL_COLOURS = (
    (230, 40, 40), (250, 150, 30), (240, 220, 40), (60, 180, 75),
    (40, 120, 230), (140, 70, 200), (240, 110, 190), (120, 80, 40),
)
PALETTE = ((255, 255, 255), (20, 20, 20)) + FILL_COLOURS
OUTLINE_INDEX = 1
RADII = (3, 4, 5)
NUM_EXAMPLES = 5120
SEED = 20161206

SPEC = DatasetSpec(
    name="shapes", height=SIZE, width=SIZE, encoding="palette", palette=PALETTE,
    num_classes=len(SHAPES), class_names=SHAPES,
)


def factors(num: int = NUM_EXAMPLES, seed: int = SEED) -> dict[str, np.ndarray]:
    """The generative factors of each example: shape, colour, radius, centre row/col."""
    rng = np.random.RandomState(seed)
    radius = rng.choice(RADII, num)
    # The centre keeps the outlined shape inside the frame.
    low, high = radius + 1, SIZE - radius - 2
    return {
        "shape": rng.randint(len(SHAPES), size=num),
        "colour": rng.randint(len(FILL_COLOURS), size=num),
        "radius": radius,
        "row": low + (rng.rand(num) * (high - low + 1)).astype(int),
        "col": low + (rng.rand(num) * (high - low + 1)).astype(int),
    }


def _masks(f: dict[str, np.ndarray]) -> np.ndarray:
    """Boolean `[N, SIZE, SIZE]` shape masks, all shapes computed at once."""
    grid = np.arange(SIZE)
    dy = grid[None, :, None] - f["row"][:, None, None]
    dx = grid[None, None, :] - f["col"][:, None, None]
    r = f["radius"][:, None, None]
    arm = np.maximum(r // 3, 1)
    by_shape = np.stack([
        (np.abs(dy) < r) & (np.abs(dx) < r),
        dy * dy + dx * dx <= r * r,
        (np.abs(dy) <= r) & (2 * np.abs(dx) <= dy + r),
        ((np.abs(dx) <= arm) & (np.abs(dy) <= r)) | ((np.abs(dy) <= arm) & (np.abs(dx) <= r)),
    ])
    return by_shape[f["shape"], np.arange(len(f["shape"]))]


def generate(num: int = NUM_EXAMPLES, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """Returns uint8 palette images `[num, 20, 20]` and int64 labels (the shape)."""
    f = factors(num, seed)
    mask = _masks(f)
    padded = np.pad(mask, ((0, 0), (1, 1), (1, 1)))
    interior = (
        mask & padded[:, :-2, 1:-1] & padded[:, 2:, 1:-1] & padded[:, 1:-1, :-2] & padded[:, 1:-1, 2:]
    )
    images = np.zeros(mask.shape, np.uint8)
    images[mask] = OUTLINE_INDEX
    fill = (2 + f["colour"]).astype(np.uint8)[:, None, None]
    images = np.where(interior, fill, images)
    return images, f["shape"].astype(np.int64)
