import shutil

import numpy as np
import pytest
import tensorflow as tf

from genzoo.data import load
from genzoo.data.pokemon import parsing
from genzoo.errors import UserError


@pytest.fixture(scope="module")
def pokemon(pokemon_dir, tfds_dir):
    train, spec = load("pokemon", "train", data_dir=str(pokemon_dir), tfds_dir=tfds_dir)
    test, _ = load("pokemon", "test", data_dir=str(pokemon_dir), tfds_dir=tfds_dir)
    stack = lambda ds: np.stack([ex["image"].numpy() for ex in ds])
    return stack(train), stack(test), spec


def test_real_files_parse_to_792_sprites(pokemon_dir):
    palette = parsing.parse_colormap(pokemon_dir / "colormap.txt")
    sprites = parsing.parse_pixels(pokemon_dir / "pixel_color.txt", len(palette))
    assert len(palette) == 167 and palette[0] == (255, 255, 255)
    assert sprites.shape == (792, 20, 20)
    assert sprites.min() == 0 and sprites.max() == 166


def test_tfds_builder_splits_712_80_by_line_index(pokemon, pokemon_dir):
    train, test, spec = pokemon
    assert train.shape == (712, 20, 20) and test.shape == (80, 20, 20)
    assert spec.num_colors == 167 and spec.encoding == "palette"
    sprites = parsing.parse_pixels(pokemon_dir / "pixel_color.txt", 167)
    key = lambda a: sorted(map(bytes, a.reshape(len(a), -1).astype(np.uint8)))
    assert key(test) == key(sprites[::10])
    assert key(train) == key(np.delete(sprites, np.arange(0, 792, 10), axis=0))


def test_pokemon40_has_types_and_canonical_split(pokemon_dir, tfds_dir):
    test, spec = load("pokemon40", "test", data_dir=str(pokemon_dir), tfds_dir=tfds_dir)
    train, _ = load("pokemon40", "train", data_dir=str(pokemon_dir), tfds_dir=tfds_dir)
    examples = list(test)
    assert len(examples) == 80 and len(list(train)) == 712
    assert spec.num_classes == 18 and spec.image_shape == (40, 40, 3)
    assert examples[0]["image"].dtype == tf.float32
    labels = {int(ex["label"]) for ex in list(train)}
    assert labels <= set(range(18)) and len(labels) > 10
    # 006MS.png is Charizard, a Fire type.
    names, _, types = parsing.read_sprites40(pokemon_dir / "sprites40", parsing.parse_types(pokemon_dir / "pokemon_stats.csv"))
    assert types[names.index("006MS.png")] == "Fire"


def _copy(pokemon_dir, tmp_path):
    for name in ("pixel_color.txt", "colormap.txt"):
        shutil.copy(pokemon_dir / name, tmp_path / name)
    return tmp_path


def _corrupt_line(path, line, new):
    lines = path.read_text().splitlines()
    lines[line] = new
    path.write_text("\n".join(lines))


@pytest.mark.parametrize("new_line, message", [
    (" ".join(["0"] * 399), "line 3: expected 400 palette indices, found 399"),
    (" ".join(["0"] * 399 + ["x"]), "line 3: 'x' is not an integer"),
    (" ".join(["0"] * 399 + ["167"]), "line 3: palette index 167 out of range 0-166"),
])
def test_corrupt_pixel_file_names_file_and_line(pokemon_dir, tmp_path, tfds_dir, new_line, message):
    root = _copy(pokemon_dir, tmp_path)
    _corrupt_line(root / "pixel_color.txt", 2, new_line)
    with pytest.raises(UserError, match=message):
        load("pokemon", data_dir=str(root), tfds_dir=tfds_dir)


def test_corrupt_colormap_is_reported(pokemon_dir, tmp_path, tfds_dir):
    root = _copy(pokemon_dir, tmp_path)
    _corrupt_line(root / "colormap.txt", 4, "1 2 300")
    with pytest.raises(UserError, match=r"colormap.txt line 5: colour \[1, 2, 300\] outside 0-255"):
        load("pokemon", data_dir=str(root), tfds_dir=tfds_dir)


def test_missing_file_is_reported(pokemon_dir, tmp_path, tfds_dir):
    shutil.copy(pokemon_dir / "colormap.txt", tmp_path / "colormap.txt")
    with pytest.raises(UserError, match="has no pixel_color.txt"):
        load("pokemon", data_dir=str(tmp_path), tfds_dir=tfds_dir)


def _sprites40(pokemon_dir, tmp_path, count=12):
    (tmp_path / "sprites40").mkdir()
    for f in sorted((pokemon_dir / "sprites40").glob("*.png"))[:count]:
        shutil.copy(f, tmp_path / "sprites40" / f.name)
    shutil.copy(pokemon_dir / "pokemon_stats.csv", tmp_path / "pokemon_stats.csv")
    return tmp_path


def test_unreadable_sprite_is_reported(pokemon_dir, tmp_path, tfds_dir):
    root = _sprites40(pokemon_dir, tmp_path)
    (root / "sprites40" / "001MS.png").write_bytes(b"not a png")
    with pytest.raises(UserError, match="001MS.png: unreadable image"):
        load("pokemon40", data_dir=str(root), tfds_dir=tfds_dir)


def test_wrong_size_sprite_is_reported(pokemon_dir, tmp_path, tfds_dir):
    root = _sprites40(pokemon_dir, tmp_path)
    small = tf.io.encode_png(tf.zeros([20, 20, 3], tf.uint8)).numpy()
    (root / "sprites40" / "002MS.png").write_bytes(small)
    with pytest.raises(UserError, match="002MS.png: expected a 40x40 sprite, found 20x20"):
        load("pokemon40", data_dir=str(root), tfds_dir=tfds_dir)


def test_losing_the_prepare_race_reads_the_winners_records(pokemon_dir, tmp_path, monkeypatch):
    # Two trainings started at once both prepare; the later one's final rename fails.
    from genzoo.data.pokemon import Pokemon

    real = Pokemon.download_and_prepare

    def other_process_wins(self, **kwargs):
        real(Pokemon(data_dir=self.data_dir_root), **kwargs)
        raise FileExistsError("Destination .../1.0.0 already exists.")

    monkeypatch.setattr(Pokemon, "download_and_prepare", other_process_wins)
    test, _ = load("pokemon", "test", data_dir=str(pokemon_dir), tfds_dir=str(tmp_path / "a"))
    assert sum(1 for _ in test) == 80

    def nobody_prepared(self, **kwargs):
        raise FileExistsError("Destination .../1.0.0 already exists.")

    monkeypatch.setattr(Pokemon, "download_and_prepare", nobody_prepared)
    with pytest.raises(FileExistsError):
        load("pokemon", "test", data_dir=str(pokemon_dir), tfds_dir=str(tmp_path / "b"))
