"""User data: a folder of PNG/JPEG images (class sub-folders as labels) or a `.npz`.

Read through `tf.io.gfile`, so `folder:gs://...` and `npz:gs://...` work too.
"""

from __future__ import annotations

import io
import os
import posixpath
import zipfile

import numpy as np
import tensorflow as tf

from genzoo import files
from genzoo.data.pokemon.parsing import read_png_rgb
from genzoo.data.spec import DatasetSpec
from genzoo.errors import UserError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}
MAX_PALETTE = 256  # a folder's distinct colours, at most, for it to offer a palette encoding
MAX_NPZ_COLORS = 4096  # an npz palette's colours: the models one-hot or embed each
MAX_CLASSES = 10_000  # labels are class indices: a model holds an embedding row per class


def _listdir(folder: str) -> list[str]:
    """Names in `folder`, sorted; a one-line error naming a file name that is not UTF-8."""
    try:
        return sorted(name.rstrip("/") for name in tf.io.gfile.listdir(folder))
    except UnicodeDecodeError:
        bad = None
        if not files.is_remote(folder):
            bad = next((name for name in os.listdir(os.fsencode(folder)) if not _is_utf8(name)), None)
        what = f"file name {bad!r}" if bad is not None else "a file name"
        raise UserError(f"{folder}: {what} is not valid UTF-8; rename it") from None


def _is_utf8(name: bytes) -> bool:
    try:
        name.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def _images_in(folder: str) -> list[str]:
    return [files.join(folder, name) for name in _listdir(folder)
            if posixpath.splitext(name)[1].lower() in IMAGE_SUFFIXES and not tf.io.gfile.isdir(files.join(folder, name))]


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
    folder = path.rstrip("/") or path
    if not tf.io.gfile.isdir(folder):
        raise UserError(f"{folder}: no such folder")
    subfolders = [name for name in _listdir(folder) if tf.io.gfile.isdir(files.join(folder, name))]
    classes = [name for name in subfolders if _images_in(files.join(folder, name))]
    if classes and _images_in(folder):
        raise UserError(f"{folder}: has both images and class sub-folders; use one layout")
    groups = ([(i, _images_in(files.join(folder, d))) for i, d in enumerate(classes)] if classes
              else [(-1, _images_in(folder))])
    paths = [(label, f) for label, fs in groups for f in fs]
    if not paths:
        raise UserError(f"{folder}: empty folder (no .png/.jpg/.jpeg images)")
    images, first = [], None
    for _, f in paths:
        image = read_png_rgb(f)
        if first is None:
            first = (f, image.shape)
        elif image.shape != first[1]:
            raise UserError(
                f"{f}: image size {image.shape[1]}x{image.shape[0]} differs from "
                f"{first[1][1]}x{first[1][0]} of {posixpath.basename(first[0])}; all images must have one size"
            )
        images.append(image)
    images = np.stack(images)
    labels = np.array([label for label, _ in paths], np.int64)
    spec = _rgb_spec(posixpath.basename(folder), images, len(classes), classes)
    return images, labels, spec


def load_npz(path: str) -> tuple[np.ndarray, np.ndarray, DatasetSpec]:
    """`images` uint8 `[N, H, W]` (with `palette` `[K, 3]`) or `[N, H, W, C]`; optional `labels`."""
    try:
        content = files.read_bytes(path)
    except tf.errors.NotFoundError:
        raise UserError(f"{path}: file not found") from None
    except tf.errors.OpError as err:
        raise UserError(f"{path}: unreadable ({type(err).__name__})") from None
    try:
        with np.load(io.BytesIO(content), allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
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
        if labels.max() >= MAX_CLASSES:
            raise UserError(f"{path}: label {int(labels.max())} is too large; labels are class indices in "
                            f"0-{MAX_CLASSES - 1}")
        num_classes = int(labels.max()) + 1
    name = posixpath.splitext(posixpath.basename(path))[0]
    if images.ndim == 3 and "palette" in arrays:
        palette = arrays["palette"]
        if (palette.ndim != 2 or palette.shape[1] != 3 or palette.dtype.kind not in "uif" or len(palette) == 0
                or palette.min() < 0 or palette.max() > 255):
            raise UserError(f"{path}: 'palette' must be [K, 3] values in 0-255")
        if len(palette) > MAX_NPZ_COLORS:
            raise UserError(f"{path}: 'palette' has {len(palette)} colours; at most {MAX_NPZ_COLORS}")
        if images.min() < 0 or images.max() >= len(palette):
            raise UserError(f"{path}: palette index {int(images.max())} out of range 0-{len(palette) - 1}")
        spec = DatasetSpec(
            name=name, height=images.shape[1], width=images.shape[2], encoding="palette",
            palette=tuple(map(tuple, palette.astype(int).tolist())), num_classes=num_classes,
        )
        # uint8 holds indices of up to 256 colours; larger palettes keep int32 (uint8 would wrap 256 to 0).
        return images.astype(np.uint8 if len(palette) <= 256 else np.int32), labels.astype(np.int64), spec
    if images.ndim == 3:
        images = images[..., None]
    if images.shape[-1] not in (1, 3) or images.min() < 0 or images.max() > 255:
        raise UserError(f"{path}: 'images' must have 1 or 3 channels of values 0-255")
    images = images.astype(np.uint8)
    return images, labels.astype(np.int64), _rgb_spec(name, images, num_classes)
