"""Shared test fixtures: the lecture's data in ../shared, quiet TensorFlow."""

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Under `pytest -n N` every worker (and the tools it runs) gets its share of the cores: TensorFlow
# sizes its pools to all of them, so two workers on two cores each spun two threads (8% more wall
# time on test_cached_sampling.py). Set before TensorFlow loads; a value the user set is kept.
if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
    _share = max(1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", str(_share))

import keras
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_POKEMON = REPO.parent / "shared" / "data" / "pokemon"

# The longest test files, longest first (CI durations, 2026-12-03). `--dist loadfile` hands files
# out in order; xdist's own order is by number of tests, which started the README flow (2 tests,
# 160-250 s) last, alone, while the other worker sat idle. Longest first leaves short files for
# the end, where they fill both workers.
LONGEST_FIRST = (
    "tests/test_readme_commands.py",
    "tests/test_export.py",
    "tests/training/test_distributed.py",
    "tests/models/test_vae.py",
    "tests/models/test_gan.py",
    "tests/training/test_resume.py",
    "tests/models/test_cached_sampling.py",
)


def pytest_configure(config):
    if hasattr(config.option, "loadscopereorder"):  # pytest-xdist: keep the order set below
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(config, items):
    rank = {path: i for i, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(LONGEST_FIRST)))  # stable


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
