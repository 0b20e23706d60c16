"""User data: a folder of PNG/JPEG images (class sub-folders as labels) or a `.npz`."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from genzoo.data.pokemon.parsing import read_png_rgb
from genzoo.data.spec import DatasetSpec
from genzoo.errors import UserError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}
MAX_PALETTE = 256


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _palette_of(images: np.ndarray) -> tuple | None:
    """The distinct colours of uint8 RGB images when few enough for a palette (white first)."""
    colours = np.unique(images.reshape(-1, 3), axis=0)
    if len(colours) > MAX_PALETTE:
        return None
    colours = sorted(map(tuple, colours.tolist()), key=lambda c: (c != (255, 255, 255), c))
    return tuple(colours)


def _rgb_spec(name, images, num_classes, class_names=()) -> DatasetSpec:
    return DatasetSpec(
        name=name, height=images.shape[1], width=images.shape[2], encoding="rgb",
        channels=images.shape[3], palette=_palette_of(images) if images.shape[3] == 3 else None,
        num_classes=num_classes, class_names=tuple(class_names),
    )


def load_folder(path: str) -> tuple[np.ndarray, np.ndarray, DatasetSpec]:
    """Images directly in `path`, or in class sub-folders (sorted names are the labels)."""
    folder = Path(path)
    if not folder.is_dir():
        raise UserError(f"{folder}: no such folder")
    classes = sorted(d for d in folder.iterdir() if d.is_dir() and _images_in(d))
    if classes and _images_in(folder):
        raise UserError(f"{folder}: has both images and class sub-folders; use one layout")
    groups = [(i, _images_in(d)) for i, d in enumerate(classes)] if classes else [(-1, _images_in(folder))]
    files = [(label, f) for label, fs in groups for f in fs]
    if not files:
        raise UserError(f"{folder}: empty folder (no .png/.jpg/.jpeg images)")
    images, first = [], None
    for _, f in files:
        image = read_png_rgb(f)
        if first is None:
            first = (f, image.shape)
        elif image.shape != first[1]:
            raise UserError(
                f"{f}: image size {image.shape[1]}x{image.shape[0]} differs from "
                f"{first[1][1]}x{first[1][0]} of {first[0].name}; all images must have one size"
            )
        images.append(image)
    images = np.stack(images)
    labels = np.array([label for label, _ in files], np.int64)
    spec = _rgb_spec(folder.name, images, len(classes), [d.name for d in classes])
    return images, labels, spec


def load_npz(path: str) -> tuple[np.ndarray, np.ndarray, DatasetSpec]:
    """`images` uint8 `[N, H, W]` (with `palette` `[K, 3]`) or `[N, H, W, C]`; optional `labels`."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except FileNotFoundError:
        raise UserError(f"{path}: file not found") from None
    except (OSError, ValueError) as err:
        raise UserError(f"{path}: not a readable .npz ({err})") from None
    if "images" not in arrays:
        raise UserError(f"{path}: no 'images' array (found {sorted(arrays)})")
    images = arrays["images"]
    if images.ndim not in (3, 4) or len(images) == 0:
        raise UserError(f"{path}: 'images' must be [N, H, W] or [N, H, W, C], got shape {images.shape}")
    if images.dtype.kind == "f":
        if not np.isfinite(images).all() or images.min() < 0 or images.max() > 1:
            raise UserError(f"{path}: float 'images' must lie in [0, 1]")
        images = np.round(images * 255)
    elif images.dtype.kind not in "ui":
        raise UserError(f"{path}: 'images' has dtype {images.dtype}; expected integers or floats")
    labels = arrays.get("labels")
    num_classes = 0
    if labels is None:
        labels = np.full(len(images), -1, np.int64)
    else:
        if labels.shape != (len(images),) or labels.dtype.kind not in "ui" or labels.min() < 0:
            raise UserError(f"{path}: 'labels' must be {len(images)} non-negative integers")
        num_classes = int(labels.max()) + 1
    name = Path(path).stem
    if images.ndim == 3 and "palette" in arrays:
        palette = arrays["palette"]
        if palette.ndim != 2 or palette.shape[1] != 3 or palette.min() < 0 or palette.max() > 255:
            raise UserError(f"{path}: 'palette' must be [K, 3] values in 0-255")
        if images.min() < 0 or images.max() >= len(palette):
            raise UserError(f"{path}: palette index {int(images.max())} out of range 0-{len(palette) - 1}")
        spec = DatasetSpec(
            name=name, height=images.shape[1], width=images.shape[2], encoding="palette",
            palette=tuple(map(tuple, palette.astype(int).tolist())), num_classes=num_classes,
        )
        return images.astype(np.uint8), labels.astype(np.int64), spec
    if images.ndim == 3:
        images = images[..., None]
    if images.shape[-1] not in (1, 3) or images.min() < 0 or images.max() > 255:
        raise UserError(f"{path}: 'images' must have 1 or 3 channels of values 0-255")
    images = images.astype(np.uint8)
    return images, labels.astype(np.int64), _rgb_spec(name, images, num_classes)
