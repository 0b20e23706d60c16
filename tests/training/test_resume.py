import json
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from genzoo.training import TrainConfig, train
from genzoo.training.runs import load_model

SMALL = {"latent_dim": 4, "filters": 4, "hidden": 16, "pixel_layers": 0}  # plain decoder: the fastest
STEPS_PER_EPOCH = 180 // 30


def _args(dataset, model_dir, epochs):
    return [sys.executable, "-m", "genzoo.tools.train", "--model=vae", f"--dataset={dataset}",
            f"--model_dir={model_dir}", f"--epochs={epochs}", "--batch_size=30", "--checkpoint_every=2",
            "--num_samples=4", "--hparams=" + ",".join(f"{k}={v}" for k, v in SMALL.items())]


def _latest_step(model_dir):
    state = tf.train.get_checkpoint_state(os.path.join(model_dir, "checkpoints"))
    return int(state.model_checkpoint_path.rsplit("-", 1)[1]) if state else 0


def _weights(model_dir, checkpoint="latest"):
    model, _ = load_model(str(model_dir), checkpoint)
    return [v.numpy() for v in model.weights]


def test_sigkill_at_random_moments_then_resume_matches_uninterrupted_run(tmp_path, small_npz_dataset):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    epochs = 6
    # The uninterrupted run goes on beside the killed ones (mostly one-core work: start-up, small steps).
    reference = subprocess.Popen(_args(small_npz_dataset, tmp_path / "ref", epochs), env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
    try:
        run = tmp_path / "killed"
        rng = random.Random(0)
        kills = 0
        deadline = time.time() + 400
        while kills < 2 and time.time() < deadline:  # two kills, then the resume that must finish
            before = _latest_step(run)
            proc = subprocess.Popen(_args(small_npz_dataset, run, epochs), env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
            # Wait for training to make progress past the last checkpoint, then kill at a random moment.
            while proc.poll() is None and _latest_step(run) <= before:
                time.sleep(0.05)
            time.sleep(rng.uniform(0.0, 1.0))
            if proc.poll() is not None:
                break
            proc.send_signal(signal.SIGKILL)
            proc.communicate()
            kills += 1
            latest = _latest_step(run)
            assert latest > before, "no progress was kept across a kill"
            tf.train.load_checkpoint(os.path.join(run, "checkpoints"))  # the latest checkpoint is readable
        assert kills >= 2, "training finished before it could be killed twice"

        last_saved = _latest_step(run)
        final = subprocess.run(_args(small_npz_dataset, run, epochs), check=False, env=env, capture_output=True,
                               text=True, timeout=600)
        _, err = reference.communicate(timeout=600)
        assert reference.returncode == 0, err[-2000:]
        assert final.returncode == 0, final.stderr[-2000:]
        resumed_at = int(final.stdout.split("at step ")[1].split()[0])
        assert resumed_at == last_saved > 0  # from the newest checkpoint, losing at most one interval
    finally:
        reference.kill()  # a no-op once it has finished
    history = json.loads((run / "history.json").read_text())
    assert [row["step"] for row in history] == [STEPS_PER_EPOCH * (e + 1) for e in range(epochs)]
    # Exact resume: data order, noise and optimizer state all restored.
    for a, b in zip(_weights(tmp_path / "ref"), _weights(run)):
        np.testing.assert_allclose(a, b, atol=1e-4)
    for a, b in zip(_weights(tmp_path / "ref", "best"), _weights(run, "best")):  # the best one too
        np.testing.assert_allclose(a, b, atol=1e-4)


def test_corrupt_latest_checkpoint_falls_back_to_previous(tmp_path, small_npz_dataset, capsys):
    config = TrainConfig(model="vae", dataset=small_npz_dataset, model_dir=str(tmp_path), epochs=2,
                         batch_size=30, checkpoint_every=4, num_samples=4, hparams=SMALL)
    train(config, verbose=0)
    ckpt_dir = tmp_path / "checkpoints"
    latest = tf.train.latest_checkpoint(str(ckpt_dir))
    data_file = next(ckpt_dir.glob(os.path.basename(latest) + ".data-*"))
    data_file.write_bytes(data_file.read_bytes()[:10])
    config.epochs = 3
    _, history = train(config, verbose=1)
    out = capsys.readouterr().out
    assert f"checkpoint {latest} is unreadable" in out and "falling back" in out
    assert history[-1]["step"] == 3 * STEPS_PER_EPOCH


def test_resume_with_different_settings_is_refused(tmp_path, small_npz_dataset):
    from genzoo.errors import UserError

    config = TrainConfig(model="vae", dataset=small_npz_dataset, model_dir=str(tmp_path), epochs=0,
                         batch_size=30, num_samples=4, hparams=SMALL)
    train(config, verbose=0)
    config.hparams = {**SMALL, "latent_dim": 8}
    with pytest.raises(UserError, match="holds a run with hparams="):
        train(config, verbose=0)


def test_nan_loss_stops_training_and_keeps_last_good_checkpoint(tmp_path, small_npz_dataset):
    from genzoo.training.loop import TrainingError

    config = TrainConfig(model="vae", dataset=small_npz_dataset, model_dir=str(tmp_path), epochs=1,
                         batch_size=30, num_samples=4, hparams=SMALL)
    train(config, verbose=0)
    config.epochs, config.learning_rate = 2, 1e30  # diverges at once
    with pytest.raises(TrainingError, match=r"became (nan|inf) at step"):
        train(config, verbose=0)
    assert _latest_step(tmp_path) == STEPS_PER_EPOCH
