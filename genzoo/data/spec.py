"""DatasetSpec: what a model needs to know about its data, and nothing else."""

from __future__ import annotations

import dataclasses
import math

ENCODINGS = ("palette", "rgb", "binary")


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """Describes encoded images as a model sees them.

    Encoded image tensors, by `encoding`:
      * `palette`: int32 `[H, W]`, colour indices in `[0, num_colors)` (the lecture's
        1-of-N pixel, kept as an index; models embed or one-hot it).
      * `rgb`: float32 `[H, W, channels]` in `[0, 1]` (the lecture's "3 numbers per
        pixel"; `channels` is 1 for greyscale), i.e. uint8 values / 255.
      * `binary`: float32 `[H, W, 1]` in `{0, 1}`.
    """

    name: str
    height: int
    width: int
    encoding: str
    channels: int = 1
    palette: tuple[tuple[int, int, int], ...] | None = None
    num_classes: int = 0
    class_names: tuple[str, ...] = ()

    def __post_init__(self):
        if self.encoding not in ENCODINGS:
            raise ValueError(f"unknown encoding {self.encoding!r}; choose one of {ENCODINGS}")
        if self.encoding == "palette" and not self.palette:
            raise ValueError(f"dataset {self.name!r}: palette encoding needs a palette")
        # Normalise lists (from JSON) to tuples so specs compare and hash.
        if self.palette is not None:
            object.__setattr__(self, "palette", tuple(tuple(int(c) for c in rgb) for rgb in self.palette))
        object.__setattr__(self, "class_names", tuple(self.class_names))

    @property
    def num_colors(self) -> int:
        """Palette size N (0 without a palette)."""
        return len(self.palette) if self.palette else 0

    @property
    def image_shape(self) -> tuple[int, ...]:
        if self.encoding == "palette":
            return (self.height, self.width)
        return (self.height, self.width, self.channels if self.encoding == "rgb" else 1)

    @property
    def image_dtype(self) -> str:
        return "int32" if self.encoding == "palette" else "float32"

    @property
    def num_dims(self) -> int:
        """Dimensions for bits per dim: one per pixel (palette, binary) or per channel (rgb)."""
        return math.prod(self.image_shape)

    def replace(self, **changes) -> DatasetSpec:
        return dataclasses.replace(self, **changes)

    def to_config(self) -> dict:
        config = dataclasses.asdict(self)
        config["palette"] = [list(c) for c in self.palette] if self.palette else None
        config["class_names"] = list(self.class_names)
        return config

    @classmethod
    def from_config(cls, config: dict) -> DatasetSpec:
        return cls(**config)
