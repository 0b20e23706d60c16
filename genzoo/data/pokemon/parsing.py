"""Readers for the lecture's Pokémon files; every error names the file and line."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import tensorflow as tf

from genzoo.errors import UserError

SIZE20 = 20
SIZE40 = 40


def _read_text(path: Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as err:
        raise UserError(f"{path}: unreadable ({err})") from None


def _int_rows(path: Path, width: int, what: str) -> list[list[int]]:
    rows = []
    for number, line in enumerate(_read_text(path).splitlines(), start=1):
        tokens = line.split()
        if not tokens:
            continue
        if len(tokens) != width:
            raise UserError(f"{path} line {number}: expected {width} {what}, found {len(tokens)}")
        try:
            rows.append([int(t) for t in tokens])
        except ValueError:
            bad = next(t for t in tokens if not t.lstrip("-").isdigit())
            raise UserError(f"{path} line {number}: {bad!r} is not an integer") from None
    if not rows:
        raise UserError(f"{path}: no data")
    return rows


MAX_COLORS = 256  # the builder stores palette indices as uint8
MAX_IMAGE_PIXELS = 4096 * 4096  # larger declared sizes are refused before decoding (decompression bombs)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def parse_colormap(path: Path) -> tuple[tuple[int, int, int], ...]:
    """`colormap.txt`: line k is the `R G B` of palette index k (at most 256 colours)."""
    rows = _int_rows(path, 3, "colour values (R G B)")
    if len(rows) > MAX_COLORS:
        raise UserError(f"{path}: {len(rows)} colours; at most {MAX_COLORS} (palette indices are stored as uint8)")
    for number, rgb in enumerate(rows, start=1):
        if not all(0 <= c <= 255 for c in rgb):
            raise UserError(f"{path} line {number}: colour {rgb} outside 0-255")
    return tuple(tuple(rgb) for rgb in rows)


def parse_pixels(path: Path, num_colors: int) -> np.ndarray:
    """`pixel_color.txt`: one 20x20 sprite per line, raster order -> uint8 `[N, 20, 20]`."""
    if num_colors > MAX_COLORS:
        raise UserError(f"{path}: a palette of {num_colors} colours; at most {MAX_COLORS} (indices are stored as uint8)")
    rows = _int_rows(path, SIZE20 * SIZE20, "palette indices")
    pixels = np.asarray(rows, dtype=np.int64)
    bad = np.argwhere((pixels < 0) | (pixels >= num_colors))
    if len(bad):
        line, column = bad[0]
        raise UserError(
            f"{path} line {line + 1}: palette index {pixels[line, column]} out of range "
            f"0-{num_colors - 1}"
        )
    return pixels.reshape(-1, SIZE20, SIZE20).astype(np.uint8)


def declared_size(content: bytes) -> tuple[int, int] | None:
    """(width, height) that a PNG's IHDR or a JPEG's frame header declares, read without
    decoding (None: neither a PNG nor a JPEG, or a header too short to say)."""
    if content.startswith(PNG_SIGNATURE):
        if len(content) < 24 or content[12:16] != b"IHDR":
            return None
        return int.from_bytes(content[16:20], "big"), int.from_bytes(content[20:24], "big")
    if content.startswith(b"\xff\xd8"):
        try:
            height, width = tf.io.extract_jpeg_shape(content).numpy()[:2]
        except tf.errors.OpError:
            return None
        return int(width), int(height)
    return None


def read_png_rgb(path: Path) -> np.ndarray:
    """Any PNG/JPEG -> uint8 RGB `[H, W, 3]`, transparent pixels composited on white.

    The size the header declares is checked before decoding: a small file that declares a
    huge picture (a decompression bomb) is refused instead of allocated.
    """
    try:
        content = tf.io.read_file(str(path)).numpy()
    except (tf.errors.OpError, OSError, UnicodeEncodeError):
        raise UserError(f"{path}: unreadable image") from None
    size = declared_size(content)
    if size is None:
        raise UserError(f"{path}: unreadable image (not a PNG or JPEG)")
    if size[0] * size[1] > MAX_IMAGE_PIXELS or 0 in size:
        raise UserError(f"{path}: declares {size[0]}x{size[1]} pixels; images must have 1-{MAX_IMAGE_PIXELS} pixels")
    try:
        image = tf.io.decode_image(content, expand_animations=False).numpy()
    except (tf.errors.OpError, OSError):
        raise UserError(f"{path}: unreadable image") from None
    if image.shape[-1] in (2, 4):  # grey+alpha or RGBA
        alpha = image[..., -1:].astype(np.float32) / 255.0
        colour = image[..., :-1].astype(np.float32)
        image = np.round(colour * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)
    if image.shape[-1] == 1:
        image = np.repeat(image, 3, axis=-1)
    return image


def parse_types(path: Path) -> dict[int, str]:
    """`pokemon_stats.csv` -> {Pokédex number: primary type} (first row per number)."""
    text = _read_text(path)
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "#" not in reader.fieldnames or "Type 1" not in reader.fieldnames:
        raise UserError(f"{path}: expected a CSV header with '#' and 'Type 1' columns")
    types: dict[int, str] = {}
    for number, row in enumerate(reader, start=2):
        try:
            dex = int(row["#"].strip())
        except (ValueError, AttributeError):
            raise UserError(f"{path} line {number}: Pokédex number {row['#']!r} is not an integer") from None
        types.setdefault(dex, row["Type 1"].strip())
    return types


def sprite_dex_number(path: Path) -> int:
    """`006MXMS.png` -> 6: the file name starts with the National Pokédex number."""
    digits = Path(path).name[:3]
    if not digits.isdigit():
        raise UserError(f"{path}: sprite file name does not start with a 3-digit Pokédex number")
    return int(digits)


def read_sprites40(folder: Path, types: dict[int, str]) -> tuple[list[str], np.ndarray, list[str]]:
    """All `*.png` in `folder`, sorted by name -> (names, uint8 `[N, 40, 40, 3]`, primary types)."""
    files = sorted(Path(folder).glob("*.png"))
    if not files:
        raise UserError(f"{folder}: no PNG sprites found")
    images, labels = [], []
    for path in files:
        image = read_png_rgb(path)
        if image.shape[:2] != (SIZE40, SIZE40):
            raise UserError(f"{path}: expected a {SIZE40}x{SIZE40} sprite, found {image.shape[1]}x{image.shape[0]}")
        dex = sprite_dex_number(path)
        if dex not in types:
            raise UserError(f"{path}: Pokédex number {dex} has no row in pokemon_stats.csv")
        images.append(image)
        labels.append(types[dex])
    return [p.name for p in files], np.stack(images), labels
