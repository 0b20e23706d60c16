import numpy as np
import pytest
import tensorflow as tf

from genzoo.data import load
from genzoo.errors import UserError


def _png(path, colour, size=(6, 6)):
    path.parent.mkdir(parents=True, exist_ok=True)
    image = np.zeros((*size, 3), np.uint8) + np.array(colour, np.uint8)
    path.write_bytes(tf.io.encode_png(image).numpy())


def test_class_subfolders_become_labels(tmp_path):
    for i in range(10):
        _png(tmp_path / "cats" / f"{i}.png", (255, 0, 0))
        _png(tmp_path / "dogs" / f"{i}.png", (0, 0, 255))
    ds, spec = load(f"folder:{tmp_path}", "all")
    examples = list(ds)
    assert spec.num_classes == 2 and spec.class_names == ("cats", "dogs")
    assert sorted(int(e["label"]) for e in examples) == [0] * 10 + [1] * 10
    red = next(e for e in examples if int(e["label"]) == 0)["image"].numpy()
    np.testing.assert_allclose(red[0, 0], [1.0, 0.0, 0.0])
    # Few colours: the folder also offers a palette encoding.
    ds, pspec = load(str(tmp_path), "all", encoding="palette")
    assert pspec.num_colors == 2 and len(list(ds)) == 20


def test_plain_folder_is_unlabelled_and_split(tmp_path):
    for i in range(20):
        _png(tmp_path / f"{i:02d}.png", (i, i, i))
    train, spec = load(f"folder:{tmp_path}", "train")
    test, _ = load(f"folder:{tmp_path}", "test")
    assert spec.num_classes == 0 and len(list(train)) == 18 and len(list(test)) == 2
    assert int(next(iter(test))["label"]) == -1


@pytest.mark.parametrize("setup, message", [
    (lambda p: None, "empty folder"),
    (lambda p: (p / "a.png").write_bytes(b"junk"), "a.png: unreadable image"),
    (lambda p: (_png(p / "a.png", (0, 0, 0)), _png(p / "b.png", (0, 0, 0), (7, 6))), "b.png: image size 6x7 differs"),
])
def test_bad_folders_are_user_errors(tmp_path, setup, message):
    setup(tmp_path)
    with pytest.raises(UserError, match=message):
        load(f"folder:{tmp_path}")


def test_npz_with_palette_and_labels(tmp_path):
    images = np.random.RandomState(0).randint(0, 3, (30, 4, 4)).astype(np.uint8)
    path = tmp_path / "d.npz"
    np.savez(path, images=images, labels=np.arange(30) % 3, palette=np.array([[255] * 3, [0] * 3, [9, 9, 9]]))
    ds, spec = load(str(path), "all")
    assert spec.encoding == "palette" and spec.num_classes == 3 and spec.num_colors == 3
    np.testing.assert_array_equal(np.stack([e["image"] for e in ds]), images)


def test_npz_rgb_float_images(tmp_path):
    path = tmp_path / "f.npz"
    np.savez(path, images=np.full((10, 3, 3, 3), 0.5, np.float32))
    ds, spec = load(f"npz:{path}", "all")
    assert spec.encoding == "rgb" and spec.num_classes == 0
    np.testing.assert_allclose(next(iter(ds))["image"].numpy(), 128 / 255)


@pytest.mark.parametrize("arrays, message", [
    ({"pixels": np.zeros((2, 3, 3))}, "no 'images' array"),
    ({"images": np.zeros((2, 3)), }, "must be \\[N, H, W\\]"),
    ({"images": np.full((2, 3, 3), 5), "palette": np.zeros((3, 3))}, "palette index 5 out of range 0-2"),
    ({"images": np.zeros((2, 3, 3)), "labels": np.array([0, -1])}, "'labels' must be 2 non-negative integers"),
    ({"images": np.array([None, None], dtype=object)}, "not a readable .npz"),
    ({"images": np.full((2, 3, 3), np.nan)}, "float 'images' must lie in"),
])
def test_bad_npz_is_user_error(tmp_path, arrays, message):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(UserError, match=message):
        load(str(path))


def test_missing_npz_and_unknown_names(tmp_path):
    with pytest.raises(UserError, match="file not found"):
        load(str(tmp_path / "none.npz"))
    with pytest.raises(UserError, match="unknown dataset 'nope'; choose one of shapes"):
        load("nope")
    with pytest.raises(UserError, match="unknown split"):
        load("shapes", "validation")
