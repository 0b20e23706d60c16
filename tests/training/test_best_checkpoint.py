"""The best held-out checkpoint beside the latest, --checkpoint=best|latest|PATH, early stop, flips."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from genzoo import data
from genzoo.errors import UserError
from genzoo.training import TrainConfig, train
from genzoo.training.loop import best_row, mirror
from genzoo.training.runs import load_model
from tests.small_models import SMALL_HPARAMS
from tests.tools.conftest import error_lines, start_tool


def _config(dataset, model_dir, **kw):
    return TrainConfig(model="pixel_cnn", dataset=dataset, model_dir=str(model_dir), batch_size=30, num_samples=4,
                       hparams=SMALL_HPARAMS["pixel_cnn"], **kw)


def _heldout_loss(model, dataset):
    """The held-out loss as the training loop's evaluation computes it."""
    for metric in model.metrics:
        metric.reset_state()
    for batch in data.load(dataset, "test")[0].batch(30):
        model.test_step(batch)
    return {m.name: float(m.result()) for m in model.metrics}["loss"]


@pytest.fixture(scope="module")
def worse_later(tmp_path_factory, small_npz_dataset):
    """Two epochs at a sane rate, then a rate 100x too high: held-out loss jumps after epoch 2, so
    the best epoch is 2 and --early_stop=2 ends the run after epoch 4 of 8. (At 20x it no longer
    did once Adam got summed embedding gradients, whose steps stay near the rate.)"""
    run = tmp_path_factory.mktemp("best") / "run"
    train(_config(small_npz_dataset, run, epochs=2, learning_rate=0.01), verbose=0)
    train(_config(small_npz_dataset, run, epochs=8, learning_rate=1.0, early_stop=2), verbose=0)
    return run, json.loads((run / "history.json").read_text())


def test_best_checkpoint_holds_the_best_epoch_and_early_stop_ends_the_run(worse_later, small_npz_dataset):
    run, history = worse_later
    losses = [row["test_loss"] for row in history]
    assert [row["epoch"] for row in history] == [1, 2, 3, 4]  # 2 epochs without improvement after epoch 2
    assert losses.index(min(losses)) == 1 and min(losses[2:]) > losses[1]
    best, _ = load_model(str(run), "best")
    latest, config = load_model(str(run), "latest")
    assert config["checkpoint"].endswith(f"ckpt-{history[-1]['step']}")
    # Round trip: the restored weights give back the held-out losses the run recorded.
    np.testing.assert_allclose(_heldout_loss(best, small_npz_dataset), losses[1], rtol=1e-4)
    np.testing.assert_allclose(_heldout_loss(latest, small_npz_dataset), losses[-1], rtol=1e-4)
    # A rerun resumes, sees the early stop again and trains no further.
    train(_config(small_npz_dataset, run, epochs=8, learning_rate=1.0, early_stop=2), verbose=0)
    assert len(json.loads((run / "history.json").read_text())) == 4


def test_sample_tool_takes_best_latest_or_a_path(worse_later):
    run, history = worse_later
    choices = ("best", "latest", f"{run}/checkpoints/ckpt-{history[-1]['step']}", f"{run}/checkpoints/ckpt-999")
    procs = [start_tool("sample", f"--model_dir={run}", f"--checkpoint={which}", "--num=4",
                        f"--out={run.parent / f'{i}.png'}") for i, which in enumerate(choices)]
    results = [proc.communicate(timeout=300) + (proc.returncode,) for proc in procs]
    for _, stderr, code in results[:3]:
        assert code == 0, stderr[-2000:]
    best, latest, by_path = (tf.io.decode_png(tf.io.read_file(str(run.parent / f"{i}.png"))).numpy() for i in range(3))
    assert np.array_equal(latest, by_path)  # the latest is that checkpoint
    assert not np.array_equal(best, latest)
    _, stderr, code = results[3]
    assert code == 2
    assert error_lines(stderr) == [(
        f"genzoo: error: --checkpoint={choices[3]}: no such checkpoint "
        f"(no {choices[3]}.index); give best, latest or a path such as RUN/checkpoints/ckpt-400")]
    assert not (run.parent / "3.png").exists()


def test_best_row_picks_the_first_lowest_finite_value():
    history = [{"epoch": 1, "m": 3.0}, {"epoch": 2, "m": float("nan")}, {"epoch": 3, "m": 1.0},
               {"epoch": 4}, {"epoch": 5, "m": 1.0}]
    assert best_row(history, "m")["epoch"] == 3
    assert best_row([{"epoch": 1}], "m") is None


def test_mirror_flips_about_half_the_images_exactly_and_reproducibly():
    image = tf.reshape(tf.range(12), [3, 4])
    flipped = [bool(tf.reduce_all(mirror(tf.constant(i, tf.int64), {"image": image, "label": 0}, 7)["image"]
                                  == image[:, ::-1])) for i in range(200)]
    again = [bool(tf.reduce_all(mirror(tf.constant(i, tf.int64), {"image": image}, 7)["image"] == image[:, ::-1]))
             for i in range(200)]
    assert flipped == again
    assert 70 < sum(flipped) < 130  # binomial(200, 1/2): 99.99% within
    unflipped = mirror(tf.constant(flipped.index(False), tf.int64), {"image": image}, 7)["image"]
    assert np.array_equal(unflipped, image)


def test_flip_resumes_exactly_and_is_part_of_the_run(tmp_path, small_npz_dataset):
    straight = _config(small_npz_dataset, tmp_path / "straight", epochs=2, learning_rate=0.01, flip=True)
    train(straight, verbose=0)
    plain = _config(small_npz_dataset, tmp_path / "plain", epochs=2, learning_rate=0.01)
    train(plain, verbose=0)
    train(_config(small_npz_dataset, tmp_path / "resumed", epochs=1, learning_rate=0.01, flip=True), verbose=0)
    train(_config(small_npz_dataset, tmp_path / "resumed", epochs=2, learning_rate=0.01, flip=True), verbose=0)
    weights = {name: [w.numpy() for w in load_model(str(tmp_path / name), "latest")[0].weights]
               for name in ("straight", "plain", "resumed")}
    for a, b in zip(weights["straight"], weights["resumed"]):
        np.testing.assert_allclose(a, b, atol=1e-5)
    assert any(not np.allclose(a, b) for a, b in zip(weights["straight"], weights["plain"]))
    with pytest.raises(UserError, match="holds a run with flip=True, not False"):
        train(_config(small_npz_dataset, tmp_path / "straight", epochs=3, learning_rate=0.01), verbose=0)
    assert not os.path.exists(tmp_path / "straight" / ".lock")
