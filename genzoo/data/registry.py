"""`load(name, split)`: every data source behind one entry point.

Returns an unbatched `tf.data.Dataset` of `{"image": encoded image, "label": int32}`
(label -1 where a source has none) and the `DatasetSpec` of the encoded images.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import tensorflow as tf

from genzoo.data import builtin, encodings, folders
from genzoo.data.spec import DatasetSpec
from genzoo.errors import UserError

SPLITS = ("train", "test", "all")
DEFAULT_DATASET = "shapes"
NAMED = ("shapes", "pokemon", "pokemon40")
POKEMON_FILES = {"pokemon": ("pixel_color.txt", "colormap.txt"), "pokemon40": ("sprites40", "pokemon_stats.csv")}


def split_indices(num: int, split: str) -> np.ndarray:
    """The canonical split of every array source: index i is test when i % 10 == 0."""
    index = np.arange(num)
    if split == "all":
        return index
    return index[(index % 10 == 0) == (split == "test")]


def _from_arrays(images, labels, split) -> tf.data.Dataset:
    keep = split_indices(len(images), split)
    return tf.data.Dataset.from_tensor_slices({"image": images[keep], "label": labels[keep]})


def _tree_digest(root: Path, names) -> str:
    """Content hash of a local copy, so prepared TFDS records are never stale."""
    digest = hashlib.sha256()
    for name in names:
        path = root / name
        for f in sorted(path.rglob("*")) if path.is_dir() else [path]:
            if f.is_file():
                digest.update(f.relative_to(root).as_posix().encode())
                digest.update(f.read_bytes())
    return digest.hexdigest()[:16]


def _pokemon_builder(name: str, data_dir: str | None, tfds_dir: str | None):
    import tensorflow_datasets as tfds

    from genzoo.data.pokemon import Pokemon, Pokemon40

    cls = Pokemon if name == "pokemon" else Pokemon40
    tfds_dir = tfds_dir or os.path.join(os.path.expanduser("~"), "tensorflow_datasets")
    config = None
    if data_dir:
        root = Path(data_dir)
        missing = [n for n in POKEMON_FILES[name] if not (root / n).exists()]
        if missing:
            raise UserError(f"{name}: --data_dir {root} has no {', '.join(missing)}")
        tfds_dir = os.path.join(tfds_dir, "genzoo_local", _tree_digest(root, POKEMON_FILES[name]))
        config = tfds.download.DownloadConfig(manual_dir=str(root))
    builder = cls(data_dir=tfds_dir)
    try:
        builder.download_and_prepare(download_config=config)
    except FileExistsError:
        # Another process (a second training started at once, a worker on this host)
        # finished preparing the same records first; TFDS's final rename then fails.
        builder = cls(data_dir=tfds_dir)
        if not builder.is_prepared():
            raise
    return builder


def _load_pokemon(name, split, data_dir, tfds_dir):
    builder = _pokemon_builder(name, data_dir, tfds_dir)
    if name == "pokemon":
        spec = DatasetSpec(
            name="pokemon", height=20, width=20, encoding="palette",
            palette=tuple(map(tuple, builder.info.metadata["palette"])),
        )
    else:
        names = tuple(builder.info.features["label"].names)
        spec = DatasetSpec(
            name="pokemon40", height=40, width=40, encoding="rgb", channels=3,
            num_classes=len(names), class_names=names,
        )
    tfds_split = "train+test" if split == "all" else split
    ds = builder.as_dataset(split=tfds_split, shuffle_files=False)
    return ds.map(lambda ex: {"image": ex["image"], "label": ex["label"]}), spec


def _load_tfds(name, split, tfds_dir):
    import tensorflow_datasets as tfds

    try:  # the features first: a dataset without images is refused before any download
        features = tfds.builder(name, data_dir=tfds_dir).info.features
    except tfds.core.registered.DatasetNotFoundError:
        raise UserError(f"tfds:{name}: no such TFDS dataset") from None
    if "image" not in features:
        raise UserError(f"tfds:{name}: has no 'image' feature (it has {', '.join(sorted(features))}); "
                        "genzoo needs images")
    try:
        ds, info = tfds.load(name, split=split, data_dir=tfds_dir, with_info=True)
    except tfds.core.registered.DatasetNotFoundError:
        raise UserError(f"tfds:{name}: no such TFDS dataset") from None
    except ValueError as err:
        if "Unknown split" not in str(err):
            raise
        raise UserError(f"tfds:{name}: {err} genzoo reads its 'train' and 'test' splits "
                        "(use another source, e.g. npz:PATH, to split it yourself)") from None
    image = info.features["image"]
    if image.shape[0] is None or image.shape[1] is None:
        raise UserError(f"tfds:{name}: images have no fixed size ({image.shape})")
    label = info.features["label"] if "label" in info.features else None  # noqa: SIM401 - no .get()
    num_classes = getattr(label, "num_classes", 0) or 0
    spec = DatasetSpec(
        name=f"tfds:{name}", height=image.shape[0], width=image.shape[1], encoding="rgb",
        channels=image.shape[2], num_classes=num_classes,
        class_names=tuple(getattr(label, "names", ()) or ()),
    )
    return ds.map(lambda ex: {
        "image": ex["image"], "label": ex["label"] if label is not None else tf.constant(-1, tf.int64),
    }), spec


def _isdir(path: str) -> bool:
    """A folder on any TensorFlow file system (gs://...); False for a scheme TensorFlow lacks."""
    try:
        return tf.io.gfile.isdir(path)
    except tf.errors.OpError:
        return False


def _source(name, split, data_dir, tfds_dir) -> tuple[tf.data.Dataset, DatasetSpec]:
    if name == "shapes":
        images, labels = builtin.generate()
        return _from_arrays(images, labels, split), builtin.SPEC
    if name in ("pokemon", "pokemon40"):
        return _load_pokemon(name, split, data_dir, tfds_dir)
    if name.startswith("tfds:"):
        return _load_tfds(name[len("tfds:"):], "train+test" if split == "all" else split, tfds_dir)
    kind, _, path = name.partition(":")
    if kind not in ("folder", "npz"):
        path, kind = name, "npz" if name.endswith(".npz") else ("folder" if _isdir(name) else "")
    if kind == "folder":
        images, labels, spec = folders.load_folder(path)
    elif kind == "npz":
        images, labels, spec = folders.load_npz(path)
    else:
        raise UserError(
            f"unknown dataset {name!r}; choose one of {', '.join(NAMED)}, tfds:NAME, "
            "folder:PATH or npz:PATH"
        )
    return _from_arrays(images, labels, split), spec


def load(
    name: str = DEFAULT_DATASET,
    split: str = "train",
    *,
    encoding: str | None = None,
    data_dir: str | None = None,
    tfds_dir: str | None = None,
) -> tuple[tf.data.Dataset, DatasetSpec]:
    """Loads a dataset split, encoded for a model.

    Args:
      name: `shapes` (built in), `pokemon`, `pokemon40`, `tfds:NAME`, `folder:PATH`
        (or a directory), `npz:PATH` (or a path ending in .npz).
      split: `train`, `test` or `all`.
      encoding: `palette`, `rgb` or `binary`; None keeps the source's own.
      data_dir: a local copy of the Pokémon files (no network is used then).
      tfds_dir: where TFDS keeps prepared records (TFDS's default when None).
    """
    if split not in SPLITS:
        raise UserError(f"unknown split {split!r}; choose one of {SPLITS}")
    ds, raw = _source(name, split, data_dir, tfds_dir)
    spec = encodings.encoded_spec(raw, encoding)
    return ds.map(
        lambda ex: {"image": encodings.encode(ex["image"], raw, encoding), "label": tf.cast(ex["label"], tf.int32)},
        num_parallel_calls=tf.data.AUTOTUNE,
    ), spec
