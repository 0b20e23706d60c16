"""Bad data is a one-line UserError naming the culprit, and nothing wraps around silently.

Helpers here build the bad files; tests/tools/test_hardening.py reuses them for the
same cases through the train tool.
"""

from __future__ import annotations

import os
import struct
import zlib

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from genzoo.data import folders, load
from genzoo.data.pokemon import parsing
from genzoo.errors import UserError


# === Bad files ===
def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def png_bomb(width: int = 5000, height: int = 5000) -> bytes:
    """A valid greyscale PNG of `width x height` white pixels, a few kB on disk (25 MB decoded)."""
    rows = (b"\x00" + b"\xff" * width) * height
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (parsing.PNG_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(rows, 9))
            + _chunk(b"IEND", b""))


def jpeg_declaring(width: int, height: int) -> bytes:
    """A small real JPEG whose frame header (SOF0) is edited to declare `width x height`."""
    jpeg = bytearray(tf.io.encode_jpeg(tf.zeros([8, 8, 3], tf.uint8)).numpy())
    sof = jpeg.index(b"\xff\xc0")
    jpeg[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(jpeg)


def small_png(colour=(0, 0, 0), size=(6, 6)) -> bytes:
    return tf.io.encode_png(np.zeros((*size, 3), np.uint8) + np.array(colour, np.uint8)).numpy()


def folder_with(tmp_path, name: str | bytes, content: bytes, good: int = 2):
    """A folder of `good` small PNGs plus one file `name` holding `content`."""
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(good):
        (folder / f"{i}.png").write_bytes(small_png())
    where = os.path.join(os.fsencode(folder), name) if isinstance(name, bytes) else folder / name
    with open(where, "wb") as f:
        f.write(content)
    return folder


# === Images: decompression bombs and file names ===
def test_a_png_bomb_is_refused_from_its_header_before_decoding(tmp_path, monkeypatch):
    bomb = png_bomb()
    assert len(bomb) < 100_000  # a small file ...
    assert parsing.declared_size(bomb) == (5000, 5000)  # ... that declares 25 million pixels
    folder = folder_with(tmp_path, "bomb.png", bomb)

    decode = tf.io.decode_image

    def decode_but_not_the_bomb(content, **kwargs):
        assert content != bomb, "the bomb was decoded before the size check"
        return decode(content, **kwargs)

    monkeypatch.setattr(tf.io, "decode_image", decode_but_not_the_bomb)
    with pytest.raises(UserError, match=r"bomb.png: declares 5000x5000 pixels; images must have 1-16777216 pixels"):
        load(f"folder:{folder}")


def test_a_jpeg_declaring_a_huge_size_is_refused(tmp_path):
    assert parsing.declared_size(jpeg_declaring(60000, 50000)) == (60000, 50000)
    folder = folder_with(tmp_path, "big.jpg", jpeg_declaring(60000, 50000))
    with pytest.raises(UserError, match="big.jpg: declares 60000x50000 pixels"):
        load(f"folder:{folder}")


def test_images_at_the_limit_and_small_jpegs_still_load(tmp_path):
    assert parsing.declared_size(small_png(size=(3, 7))) == (7, 3)
    folder = folder_with(tmp_path, "c.jpg", tf.io.encode_jpeg(tf.zeros([6, 6, 3], tf.uint8)).numpy())
    _, spec = load(f"folder:{folder}", "all")
    assert (spec.height, spec.width) == (6, 6)


def test_a_file_that_is_neither_png_nor_jpeg_is_refused(tmp_path):
    gif = tf.io.encode_png(np.zeros((6, 6, 3), np.uint8)).numpy().replace(parsing.PNG_SIGNATURE, b"GIF89a\x00\x00", 1)
    folder = folder_with(tmp_path, "x.png", gif)
    with pytest.raises(UserError, match=r"x.png: unreadable image \(not a PNG or JPEG\)"):
        load(f"folder:{folder}")


def test_a_file_name_that_is_not_utf8_is_named(tmp_path):
    folder = folder_with(tmp_path, b"caf\xe9.png", small_png())
    with pytest.raises(UserError, match=r"file name b'caf\\xe9.png' is not valid UTF-8; rename it"):
        load(f"folder:{folder}")


def test_a_class_folder_name_that_is_not_utf8_is_named(tmp_path):
    root = tmp_path / "classes"
    os.makedirs(os.path.join(os.fsencode(root), b"\xffcats"))
    (root / "dogs").mkdir()
    for sub in (b"\xffcats", b"dogs"):
        with open(os.path.join(os.fsencode(root), sub, b"0.png"), "wb") as f:
            f.write(small_png())
    with pytest.raises(UserError, match=r"file name b'\\xffcats' is not valid UTF-8"):
        load(f"folder:{root}")


# === Palettes and labels ===
def test_an_npz_palette_of_more_than_256_colours_keeps_every_index(tmp_path):
    palette = np.stack([np.arange(300) % 256, np.arange(300) // 256, np.zeros(300)], axis=1)
    images = np.random.RandomState(0).randint(0, 300, (10, 4, 3)).astype(np.uint16)
    images[0, 0, 0] = 299
    path = tmp_path / "p.npz"
    np.savez(path, images=images, palette=palette)
    ds, spec = load(f"npz:{path}", "all")
    got = np.stack([ex["image"].numpy() for ex in ds])
    assert spec.num_colors == 300
    np.testing.assert_array_equal(got, images)  # 299 stays 299 (uint8 made it 43)


@pytest.mark.parametrize("arrays, message", [
    ({"images": np.zeros((2, 3, 3), np.uint16), "palette": np.zeros((5000, 3))}, "'palette' has 5000 colours; at most 4096"),
    ({"images": np.zeros((2, 3, 3)), "labels": np.array([0, 10**12])},
     "label 1000000000000 is too large; labels are class indices in 0-9999"),
    ({"images": np.zeros((2, 3, 3)), "palette": np.zeros((0, 3))}, "'palette' must be \\[K, 3\\] values in 0-255"),
])
def test_npz_size_limits(tmp_path, arrays, message):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(UserError, match=message):
        load(str(path))


def test_a_truncated_npz_is_refused(tmp_path):
    path = tmp_path / "cut.npz"
    np.savez(path, images=np.zeros((4, 3, 3), np.uint8))
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(UserError, match="cut.npz: not a readable .npz"):
        load(str(path))


def test_a_colormap_of_more_than_256_colours_is_refused(tmp_path):
    colormap = tmp_path / "colormap.txt"
    colormap.write_text("\n".join(f"{i % 256} 0 0" for i in range(300)))
    with pytest.raises(UserError, match="colormap.txt: 300 colours; at most 256 .palette indices are stored as uint8"):
        parsing.parse_colormap(colormap)
    with pytest.raises(UserError, match="a palette of 300 colours; at most 256"):
        parsing.parse_pixels(tmp_path / "pixel_color.txt", 300)


# === TFDS sources ===
def test_a_tfds_dataset_without_images_is_refused_before_loading(monkeypatch):
    def no_load(*args, **kwargs):
        raise AssertionError("loaded (downloaded) before the feature check")

    monkeypatch.setattr(tfds, "load", no_load)
    with tfds.testing.mock_data(num_examples=2), \
            pytest.raises(UserError, match="tfds:imdb_reviews: has no 'image' feature .it has label, text."):
        load("tfds:imdb_reviews")


def test_a_tfds_dataset_without_a_test_split_is_refused(monkeypatch):
    def train_only(name, split, **kwargs):
        # TFDS 4.9.10's own message, as a prepared train-only dataset raised it here.
        raise ValueError(f"Unknown split {split!r}. Should be one of ['train'].")

    monkeypatch.setattr(tfds, "load", train_only)
    with pytest.raises(UserError, match=r"tfds:mnist: Unknown split 'test'. Should be one of \['train'\]. "
                                        r"genzoo reads its 'train' and 'test' splits"):
        load("tfds:mnist", "test")
    with pytest.raises(UserError, match="Unknown split 'train.test'"):
        load("tfds:mnist", "all")


def test_the_folder_limits_are_the_documented_ones():
    assert (folders.MAX_NPZ_COLORS, folders.MAX_CLASSES, parsing.MAX_COLORS) == (4096, 10_000, 256)
    assert parsing.MAX_IMAGE_PIXELS == 4096 * 4096
