import os
import re
import subprocess
import sys

import numpy as np
import pytest

from tests.small_models import SMALL_HPARAMS

# TensorFlow's native start-up logging (absl/XLA, CUDA probing) ignores TF_CPP_MIN_LOG_LEVEL.
TF_NOISE = re.compile(r"^(WARNING: All log messages before absl|[IWE]\d{4} )")
SMALL_VAE = "--hparams=latent_dim=4,filters=4,hidden=16,pixel_layers=0"  # plain decoder: the fastest


def run_tool(tool, *args, cwd=None):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(
        [sys.executable, "-m", f"genzoo.tools.{tool}", *args], capture_output=True, text=True, env=env,
        cwd=cwd, timeout=300, check=False,
    )


def start_tool(tool, *args):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.Popen(
        [sys.executable, "-m", f"genzoo.tools.{tool}", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=env,
    )


@pytest.fixture(scope="session")
def small_npz(small_npz_dataset) -> str:
    return small_npz_dataset


def error_lines(stderr: str) -> list[str]:
    """stderr without TensorFlow's own start-up lines."""
    return [line for line in stderr.strip().splitlines() if not TF_NOISE.match(line)]


def assert_one_line_errors(procs: dict, cases: dict) -> dict[str, str]:
    """Each tool process `procs[name]` exits 2 with one `genzoo: error:` line containing `cases[name][1]`.

    Returns each case's full stderr for further checks.
    """
    errors = {}
    for name, proc in procs.items():
        _, err = proc.communicate(timeout=300)
        lines = error_lines(err)
        assert proc.returncode == 2, (name, err)
        assert len(lines) == 1 and lines[0].startswith("genzoo: error:"), (name, err)
        assert cases[name][1] in lines[0], (name, lines[0])
        errors[name] = err
    return errors


def small_hparams(model: str) -> str:
    """`--hparams=...` for a small `model` (tests/small_models.py), so a CLI run trains in seconds."""
    return "--hparams=" + ",".join(f"{key}={value}" for key, value in SMALL_HPARAMS[model].items())


def grid_shape(rows: int, columns: int, size: int = 20, scale: int = 4) -> tuple[int, int, int]:
    """Pixel shape of a tool's PNG grid: cells of `size * scale` pixels with 1-pixel grey gaps."""
    return rows * (size * scale + 1) + 1, columns * (size * scale + 1) + 1, 3


def grid_cells(png, rows: int, columns: int, size: int = 20, scale: int = 4):
    """The cells of a decoded grid, `[rows, columns, size * scale, size * scale, 3]`, gaps dropped."""
    cell = size * scale
    return np.stack([np.stack([png[1 + r * (cell + 1):1 + r * (cell + 1) + cell, 1 + c * (cell + 1):1 + c * (cell + 1) + cell]
                               for c in range(columns)]) for r in range(rows)])
