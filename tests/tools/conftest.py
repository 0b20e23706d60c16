import os
import re
import subprocess
import sys

import pytest


# TensorFlow's native start-up logging (absl/XLA, CUDA probing) ignores TF_CPP_MIN_LOG_LEVEL.
TF_NOISE = re.compile(r"^(WARNING: All log messages before absl|[IWE]\d{4} )")
SMALL_VAE = "--hparams=latent_dim=4,filters=4,hidden=16"


def run_tool(tool, *args, cwd=None):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(
        [sys.executable, "-m", f"genzoo.tools.{tool}", *args], capture_output=True, text=True, env=env,
        cwd=cwd, timeout=300,
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
