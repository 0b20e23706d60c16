"""The README's commands, run as a new user runs them: in order, in a fresh working
directory, with the relative paths exactly as written.

Substituted: only the data-path placeholder (`path/to/pokemon` -> ../shared/data/pokemon),
a short `--epochs` and a small `evaluate` (`EVALUATE_FLAGS`: the defaults sample 3,000
PixelVAE images, compute 64-sample bounds and train the feature classifier for 15 epochs,
170 s of a 315 s flow; the same code paths run at these sizes, and
tests/evaluation covers the scores themselves). Skipped, with why: `pip install ...` (CI has
installed the package already; the rest of that line runs), the test command itself (it would run this
suite again) and `tensorboard` (a server that does not exit).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import tensorflow as tf

REPO = Path(__file__).resolve().parents[1]
POKEMON = REPO.parent / "shared" / "data" / "pokemon"
# Appended to `genzoo.tools.evaluate` (the flags' later values win).
EVALUATE_FLAGS = " --num_samples=100 --num_seeds=1 --iw_samples=1,8 --classifier_epochs=1"
SKIPPED = {
    "python -m pytest": "the test command itself: it would run this suite again",
    "tensorboard": "a server that does not exit",
}


def readme_commands() -> list[str]:
    """Every command line of the README's bash blocks, in order, comments dropped."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.DOTALL):
        for line in block.splitlines():
            line = line.split(" #")[0].strip()
            if line and not line.startswith("#"):
                lines.append(line)
    return lines


def as_run(line: str) -> str | None:
    """The command this test runs for a README line (None: skipped, see SKIPPED)."""
    parts = [part.strip() for part in line.split("&&")]
    parts = [part for part in parts if not part.startswith("pip install")]
    if not parts or any(part.startswith(prefix) for part in parts for prefix in SKIPPED):
        return None
    command = " && ".join(parts).replace("path/to/pokemon", str(POKEMON))
    if "genzoo.tools.train" in command:
        command = re.sub(r"--epochs=\d+", "", command) + " --epochs=1"
    if "genzoo.tools.evaluate" in command:
        command += EVALUATE_FLAGS
    return command


def test_readme_has_the_two_quick_start_commands_first():
    commands = readme_commands()
    assert commands[0] == "pip install . && python -m genzoo.tools.train --model=vae"
    assert commands[1].startswith("pip install '.[test]' && python -m pytest")


def test_readme_commands_run_as_written_from_a_fresh_folder(tmp_path):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "HOME": str(tmp_path / "home")}  # no shared caches
    ran = []
    for line in readme_commands():
        command = as_run(line)
        if command is None:
            continue
        argv = [sys.executable if word == "python" else word for word in shlex.split(command)]
        done = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False)
        assert done.returncode == 0, f"README command failed: {line}\n{done.stderr[-2000:]}"
        ran.append(line)
    # quick-start train, the preset list and grid, pokemon train, two samples, evaluate, export
    assert len(ran) == 8, ran
    # What the commands say they leave behind, where they say it.
    for path in ("runs/vae/config.json", "preset_grid.png", "runs/pokemon_vae/samples.png", "grid.png", "recon.png",
                 "eval_vae/metrics.json", "serving/pokemon_vae/1/saved_model.pb"):
        assert (tmp_path / path).is_file(), path
    for name in ("grid.png", "preset_grid.png"):
        grid = tf.io.decode_png((tmp_path / name).read_bytes()).numpy()
        assert grid.shape[0] > 8 * 20 and np.std(grid) > 0, name  # 64 sprites, not a blank picture
