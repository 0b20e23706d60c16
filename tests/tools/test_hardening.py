"""Bad input is a one-line `genzoo: error:` with exit status 2, and no run loses data silently."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from genzoo.errors import UserError
from genzoo.training import TrainConfig, train
from genzoo.training.checkpoints import Checkpoints
from tests.tools.conftest import SMALL_VAE, assert_one_line_errors, start_tool

SMALL = {"latent_dim": 4, "filters": 4, "hidden": 16}


@pytest.fixture
def fake_run(tmp_path):
    """A folder that passes the tools' first check (it has a config.json), for flag checks that come next."""
    run = tmp_path / "fake_run"
    run.mkdir()
    (run / "config.json").write_text("{}")
    return run


def test_flags_out_of_range_are_one_line_errors(tmp_path, small_npz, fake_run):
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    train = ["--model=vae", f"--dataset={small_npz}", SMALL_VAE]
    cases = {
        "train seed": ("train", [*train, "--seed=-1"], "--seed must lie in 0-2147483647, got -1"),
        "train hparam type": ("train", ["--model=vae", f"--dataset={small_npz}", "--hparams=latent_dim=abc"],
                              "hyper-parameter latent_dim must be int, got 'abc'"),
        "train hparam seed": ("train", [*train[:2], "--hparams=seed=1"], "--hparams must not set seed; use --seed"),
        "train model_dir file": ("train", [*train, f"--model_dir={a_file}"], "is a file, not a folder"),
        "train num_samples": ("train", [*train, "--num_samples=5000"], "--num_samples must lie in 1-4096, got 5000"),
        "sample num": ("sample", [f"--model_dir={fake_run}", "--num=5000"], "--num must lie in 1-4096, got 5000"),
        "sample seed": ("sample", [f"--model_dir={fake_run}", "--seed=-3"], "--seed must lie in 0-2147483647, got -3"),
        "sample out folder": ("sample", [f"--model_dir={fake_run}", f"--out={tmp_path}"], "is a folder; name a file"),
        "sample saved labels": ("sample", [f"--saved_model={tmp_path}", "--labels=a"], "--labels must be integers"),
        "evaluate seed": ("evaluate", [f"--model_dir={fake_run}", "--seed=-1"], "--seed must lie in 0-"),
        "evaluate samples": ("evaluate", [f"--model_dir={fake_run}", "--num_samples=100000"],
                             "--num_samples must lie in 2-4096, got 100000"),
        "evaluate iw": ("evaluate", [f"--model_dir={fake_run}", "--iw_samples=1,100000"],
                        "--iw_samples must be integers in 1-4096"),
        "evaluate out file": ("evaluate", [f"--model_dir={fake_run}", f"--out={a_file}"], "is a file, not a folder"),
        "evaluate classifier epochs": ("evaluate", [f"--model_dir={fake_run}", "--classifier_epochs=0"],
                                       "--classifier_epochs must be an integer in 1-1000, got 0"),
        "export cap": ("export", [f"--model_dir={fake_run}", f"--export_base={tmp_path / 'e'}",
                                  "--max_num_samples=3000000000"], "--max_num_samples must lie in 1-2147483647"),
        "export base file": ("export", [f"--model_dir={fake_run}", f"--export_base={a_file}"], "is a file, not a folder"),
    }
    procs = {name: start_tool(tool, *flags) for name, (tool, flags, _) in cases.items()}
    errors = assert_one_line_errors(procs, {name: (None, message) for name, (_, _, message) in cases.items()})
    assert all("Traceback" not in err for err in errors.values())
    assert sorted(os.listdir(tmp_path)) == ["a_file", "fake_run"]  # nothing written


def _config(tmp_path, small_npz, **overrides):
    values = {"model": "vae", "dataset": small_npz, "model_dir": str(tmp_path / "run"), "epochs": 1,
              "batch_size": 30, "hparams": dict(SMALL), "num_samples": 4}
    return TrainConfig(**{**values, **overrides})


def test_a_rerun_keeps_the_recorded_learning_rate(tmp_path, small_npz):
    train(_config(tmp_path, small_npz, learning_rate=0.0123), verbose=0)
    model, _ = train(_config(tmp_path, small_npz, epochs=2), verbose=0)  # no --learning_rate given
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["train"]["learning_rate"] == 0.0123
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(0.0123)


def test_corrupt_run_files_are_one_line_errors(tmp_path, small_npz):
    train(_config(tmp_path, small_npz), verbose=0)
    history = tmp_path / "run" / "history.json"
    good = history.read_text()
    history.write_text(good[:len(good) // 2])
    with pytest.raises(UserError, match="history.json is corrupt"):
        train(_config(tmp_path, small_npz, epochs=2), verbose=0)
    assert history.read_text() == good[:len(good) // 2]  # left as it was, not replaced
    history.write_text(good)
    config = tmp_path / "run" / "config.json"
    config.write_text("{not json")
    with pytest.raises(UserError, match="config.json is corrupt"):
        train(_config(tmp_path, small_npz, epochs=2), verbose=0)


def test_a_run_with_no_readable_checkpoint_is_refused_unless_start_over(tmp_path, small_npz):
    train(_config(tmp_path, small_npz), verbose=0)
    checkpoints = tmp_path / "run" / "checkpoints"
    for path in checkpoints.glob("ckpt-*.data-*"):
        path.write_bytes(b"garbage")
    listed = sorted(os.listdir(checkpoints))
    with pytest.raises(UserError, match="no checkpoint in .* can be read; pass --start_over"):
        train(_config(tmp_path, small_npz, epochs=2), verbose=0)
    assert sorted(os.listdir(checkpoints)) == listed  # nothing rotated away
    _, history = train(_config(tmp_path, small_npz, epochs=2, start_over=True), verbose=0)
    assert [row["epoch"] for row in history] == [1, 2]


def test_a_second_training_of_one_run_is_refused_and_a_stale_lock_taken_over(tmp_path, small_npz):
    run = tmp_path / "run"
    run.mkdir()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (run / ".lock").write_text(str(sleeper.pid))
        with pytest.raises(UserError, match=f"is being trained by process {sleeper.pid}"):
            train(_config(tmp_path, small_npz), verbose=0)
    finally:
        sleeper.kill()
        sleeper.wait()
    train(_config(tmp_path, small_npz), verbose=0)  # the lock's process is gone: a stale lock
    assert not (run / ".lock").exists() and (run / "history.json").exists()


def test_restore_fails_loudly_when_a_weight_is_not_in_the_checkpoint(tmp_path):
    saved = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="a")])
    Checkpoints(str(tmp_path / "c"), keep=2, model=saved).save(1)
    grown = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="a"), keras.layers.Dense(4, name="b")])
    with pytest.raises(UserError, match="does not hold every weight of this model"):
        Checkpoints(str(tmp_path / "c"), keep=2, model=grown).restore_latest()
    same = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="a")])
    assert Checkpoints(str(tmp_path / "c"), keep=2, model=same).restore_latest()
    np.testing.assert_array_equal(same.weights[0].numpy(), saved.weights[0].numpy())
    assert tf.reduce_all(same.weights[1] == saved.weights[1])
