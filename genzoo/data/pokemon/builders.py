"""TFDS builders for the lecture's Pokémon sprites.

`pokemon`: 792 sprites of 20x20 palette indices (167 colours). `pokemon40`: the
792 original 40x40 RGB sprites, labelled with their primary type (18 classes).
Both download from the public URLs (checksums in `checksums.tsv` beside this
file) or read a local copy given as the TFDS manual dir, without network.
Canonical split for both: example i (0-based, file order; sorted names for
`pokemon40`) is in `test` when i % 10 == 0, else in `train` (712 / 80).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow_datasets as tfds

from genzoo.data.pokemon import parsing

BASE_URL = "http://speech.ee.ntu.edu.tw/~tlkagk/courses/ML_2016/Pokemon_creation/"
URLS = {
    "pixel_color.txt": BASE_URL + "pixel_color.txt",
    "colormap.txt": BASE_URL + "colormap.txt",
    "image.rar": BASE_URL + "image.rar",
    "pokemon_stats.csv": "https://raw.githubusercontent.com/Kokkalo4/Kaggle-Pokemon/master/Pokemon.csv",
}
TYPES = (
    "Bug", "Dark", "Dragon", "Electric", "Fairy", "Fighting", "Fire", "Flying", "Ghost",
    "Grass", "Ground", "Ice", "Normal", "Poison", "Psychic", "Rock", "Steel", "Water",
)
INSTRUCTIONS = (
    "Put pixel_color.txt, colormap.txt (pokemon) or sprites40/*.png and pokemon_stats.csv "
    "(pokemon40) in the manual dir; see docs/data.md."
)


def is_test_index(i: int) -> bool:
    return i % 10 == 0


def _fetch(dl_manager, names: list[str]) -> dict[str, Path]:
    """Local copy (manual dir) when it has every file, else the public URLs."""
    try:
        manual = Path(dl_manager.manual_dir)
    except AssertionError:
        manual = None
    if manual is not None:
        missing = [n for n in names if not (manual / n).exists()]
        if missing:
            raise parsing.UserError(f"{manual}: missing {', '.join(missing)}")
        return {n: manual / n for n in names}
    if "sprites40" in names:
        # The public 40x40 sprites are a RAR archive, which TFDS cannot extract.
        raise parsing.UserError(
            f"pokemon40: download {URLS['image.rar']}, extract its figure/*.png into "
            "DIR/sprites40, add pokemon_stats.csv, and pass --data_dir=DIR"
        )
    return {n: Path(p) for n, p in dl_manager.download({n: URLS[n] for n in names}).items()}


class Pokemon(tfds.core.GeneratorBasedBuilder):
    """The lecture's 792 Pokémon sprites, 20x20 pixels in a 167-colour palette."""

    VERSION = tfds.core.Version("1.0.0")
    MANUAL_DOWNLOAD_INSTRUCTIONS = INSTRUCTIONS

    def _info(self):
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict({
                "image": tfds.features.Tensor(shape=(20, 20), dtype=np.uint8),
                "label": np.int64,
            }),
            metadata=tfds.core.MetadataDict(),
            homepage="https://speech.ee.ntu.edu.tw/~tlkagk/courses_ML16.html",
        )

    def _split_generators(self, dl_manager):
        files = _fetch(dl_manager, ["pixel_color.txt", "colormap.txt"])
        palette = parsing.parse_colormap(files["colormap.txt"])
        sprites = parsing.parse_pixels(files["pixel_color.txt"], len(palette))
        self.info.metadata["palette"] = [list(c) for c in palette]
        return {
            "train": self._generate(sprites, test=False),
            "test": self._generate(sprites, test=True),
        }

    def _generate(self, sprites, test):
        for i, sprite in enumerate(sprites):
            if is_test_index(i) == test:
                yield i, {"image": sprite, "label": -1}

    def _generate_examples(self):  # required by the base class; splits come from _generate
        raise NotImplementedError


class Pokemon40(tfds.core.GeneratorBasedBuilder):
    """The 792 original 40x40 RGB sprites, labelled by primary type (18 classes)."""

    VERSION = tfds.core.Version("1.0.0")
    MANUAL_DOWNLOAD_INSTRUCTIONS = INSTRUCTIONS

    def _info(self):
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict({
                "image": tfds.features.Image(shape=(40, 40, 3)),
                "label": tfds.features.ClassLabel(names=TYPES),
                "name": tfds.features.Text(),
            }),
            supervised_keys=("image", "label"),
        )

    def _split_generators(self, dl_manager):
        files = _fetch(dl_manager, ["sprites40", "pokemon_stats.csv"])
        folder = files["sprites40"]
        types = parsing.parse_types(files["pokemon_stats.csv"])
        names, images, labels = parsing.read_sprites40(folder, types)
        unknown = sorted(set(labels) - set(TYPES))
        if unknown:
            raise parsing.UserError(f"{files['pokemon_stats.csv']}: unknown primary type {unknown[0]!r}")
        examples = list(zip(names, images, labels))
        return {
            "train": self._generate(examples, test=False),
            "test": self._generate(examples, test=True),
        }

    def _generate(self, examples, test):
        for i, (name, image, label) in enumerate(examples):
            if is_test_index(i) == test:
                yield name, {"image": image, "label": label, "name": name}

    def _generate_examples(self):
        raise NotImplementedError
