"""Shared test fixtures: the lecture's data in ../shared, quiet TensorFlow."""

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_POKEMON = REPO.parent / "shared" / "data" / "pokemon"


@pytest.fixture(autouse=True)
def fixed_global_seed():
    """Every test starts from the same global random state, whatever ran before it in its process.

    Under pytest-xdist each worker runs a different sequence of tests, so weights made
    without an explicit seed would otherwise differ from run to run.
    """
    keras.utils.set_random_seed(0)


@pytest.fixture(scope="session")
def pokemon_dir() -> Path:
    assert (SHARED_POKEMON / "pixel_color.txt").exists(), f"missing test data in {SHARED_POKEMON}"
    return SHARED_POKEMON


@pytest.fixture(scope="session")
def tfds_dir(tmp_path_factory) -> str:
    """One prepared-records folder per test session (TFDS caches by content hash)."""
    return str(tmp_path_factory.mktemp("tfds"))


@pytest.fixture(scope="session")
def small_npz_dataset(tmp_path_factory) -> str:
    """200 `shapes` sprites with labels and palette (180 train): trains in seconds."""
    from genzoo.data import builtin

    images, labels = builtin.generate(200)
    path = tmp_path_factory.mktemp("npz") / "small.npz"
    np.savez(path, images=images, labels=labels, palette=np.array(builtin.PALETTE))
    return f"npz:{path}"
