"""A whole run on a TensorFlow file system other than the local one (`ram://`, standing in for `gs://`):
train, resume, reload, evaluate, with nothing written to the local working folder."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from genzoo.errors import UserError
from genzoo.tools.evaluate import evaluate
from genzoo.training import TrainConfig, train
from genzoo.training.loop import RunLock
from genzoo.training.runs import load_model
from tests.small_models import SMALL_HPARAMS


def test_train_resume_load_and_evaluate_on_ram_file_system(tmp_path, monkeypatch, small_npz_dataset):
    monkeypatch.chdir(tmp_path)
    run = "ram://genzoo-test/runs/pixel_cnn"
    config = {"model": "pixel_cnn", "dataset": small_npz_dataset, "model_dir": run, "batch_size": 30,
              "num_samples": 4, "learning_rate": 0.01, "hparams": SMALL_HPARAMS["pixel_cnn"]}
    train(TrainConfig(epochs=1, **config), verbose=0)
    model, history = train(TrainConfig(epochs=2, **config), verbose=0)  # resumes from ram://
    assert [row["epoch"] for row in history] == [1, 2]
    for name in ("config.json", "history.json", "samples.png", "checkpoints/checkpoint", "checkpoints/best/checkpoint"):
        assert tf.io.gfile.exists(f"{run}/{name}"), name
    assert not tf.io.gfile.exists(f"{run}/.lock")  # released
    assert json.loads(tf.io.gfile.GFile(f"{run}/history.json").read()) == history
    loaded, saved = load_model(run, "latest")
    for a, b in zip(model.weights, loaded.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert saved["checkpoint"].startswith(run)
    metrics = evaluate(run, "ram://genzoo-test/eval", num_samples=8, num_seeds=1, iw_samples=(1,),
                       features_dir=str(tmp_path / "features"), classifier_epochs=1, verbose=0)
    assert metrics["model_dir"] == run
    assert json.loads(tf.io.gfile.GFile("ram://genzoo-test/eval/metrics.json").read())["model"] == "pixel_cnn"
    assert sorted(os.listdir(tmp_path)) == ["features"]  # no local "ram:" folder


def test_remote_lock_refuses_a_live_owner_and_takes_over_a_dead_one(tmp_path):
    run = "ram://genzoo-lock/run"
    with RunLock(run):
        assert tf.io.gfile.GFile(f"{run}/.lock").read().endswith(f":{os.getpid()}")
    assert not tf.io.gfile.exists(run)  # created by the lock, empty again: removed
    tf.io.gfile.makedirs(run)
    with tf.io.gfile.GFile(f"{run}/.lock", "w") as f:
        f.write("another-host:1")
    with pytest.raises(UserError, match="is being trained by process 1 \\(another-host:1\\)"), RunLock(run):
        pass
    import socket
    import subprocess
    import sys

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True).stdout.strip()
    tf.io.gfile.remove(f"{run}/.lock")  # ram:// appends where "w" should truncate
    with tf.io.gfile.GFile(f"{run}/.lock", "w") as f:
        f.write(f"{socket.gethostname()}:{gone}")
    with RunLock(run):  # its process is gone: taken over
        assert tf.io.gfile.GFile(f"{run}/.lock").read() == f"{socket.gethostname()}:{os.getpid()}"
