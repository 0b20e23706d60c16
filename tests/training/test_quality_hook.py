"""Sample-quality scores during training: `--quality_every` (genzoo/training/loop.py QualityHook)."""

import json
import math

import numpy as np
import pytest
import tensorflow as tf

from genzoo.errors import UserError
from genzoo.training import TrainConfig, train
from tests.small_models import SMALL_HPARAMS
from tests.tools.conftest import SMALL_VAE, assert_one_line_errors, start_tool

SCORES = ("quality/frechet_distance", "quality/kid", "quality/precision", "quality/recall", "quality/c2st")
# seed 1, not 0: training the missing feature classifier reseeds the global generators
# with 0, so only a run seeded otherwise would notice that leaking into its data order.
SEED = 1
SAMPLES = 60


@pytest.fixture(scope="module")
def runs(tmp_path_factory, small_npz_dataset):
    root = tmp_path_factory.mktemp("quality")
    out = {}
    for name, every in (("hook", 1), ("plain", 0)):
        config = TrainConfig(model="vae", dataset=small_npz_dataset, model_dir=str(root / name), epochs=2,
                             batch_size=30, seed=SEED, num_samples=4, quality_every=every, quality_samples=SAMPLES,
                             keep_scored=bool(every), features_dir=str(root / "features"), hparams=SMALL_HPARAMS["vae"])
        train(config, verbose=0)
        out[name] = root / name
    out["features"] = root / "features"
    return out


def _history(run):
    return json.loads((run / "history.json").read_text())


def test_scores_are_in_every_epochs_history_row_and_in_tensorboard(runs):
    history = _history(runs["hook"])
    assert [row["epoch"] for row in history] == [1, 2]
    for row in history:
        assert all(math.isfinite(row[name]) for name in SCORES), row
        assert row["quality/frechet_distance"] >= 0
        assert 0 <= row["quality/precision"] <= 1 and 0 <= row["quality/recall"] <= 1
        assert 0 <= row["quality/c2st"] <= 1
    # Different weights give different samples, so the two epochs' distances differ.
    assert history[0]["quality/frechet_distance"] != history[1]["quality/frechet_distance"]
    events = list((runs["hook"] / "logs" / "test").glob("events.*"))
    steps = {}
    for e in events:
        for record in tf.compat.v1.train.summary_iterator(str(e)):
            for v in record.summary.value:
                steps.setdefault(v.tag, []).append(record.step)
    for name in SCORES:
        assert sorted(steps[name]) == [6, 12], name  # 180 images / batch 30 = 6 steps per epoch
    plain = _history(runs["plain"])
    assert not any(name in row for row in plain for name in SCORES)


def test_scores_are_the_evaluate_tools_for_the_same_weights_seed_and_classifier(runs, tmp_path):
    from genzoo.tools.evaluate import evaluate

    metrics = evaluate(str(runs["hook"]), str(tmp_path / "eval"), split="test", seed=SEED, num_samples=SAMPLES,
                       num_seeds=1, iw_samples=(1,), features_dir=str(runs["features"]), verbose=0,
                       checkpoint="latest")  # the hook scored the last epoch's weights, not the best ones
    record = json.loads((runs["hook"] / "config.json").read_text())["quality_features"]
    features = metrics["sample_quality"]["features"]
    assert record["sha256"] == features["sha256"] and record["path"] == features["path"]  # one shared artefact
    last = _history(runs["hook"])[-1]
    for name in SCORES[:-1]:
        expected = metrics["sample_quality"]["scores"][name.split("/")[1]]["per_seed"][0]
        # Same samples, images and features; only float summation order may differ.
        assert last[name] == pytest.approx(expected, rel=1e-6, abs=1e-9), name
    # The same samples and seed: the same two-sample test.
    assert last["quality/c2st"] == metrics["two_sample"]["samples_vs_heldout"]["c2st"]["per_seed"][0]


def test_the_hook_does_not_change_the_training_trajectory(runs):
    hook = tf.train.load_checkpoint(str(runs["hook"] / "checkpoints"))
    plain = tf.train.load_checkpoint(str(runs["plain"] / "checkpoints"))
    # The object-graph entry holds Keras' auto-generated names (adam_1 vs adam_2), not values; the
    # save counter counts the hook run's --keep_scored saves too.
    skip = {"_CHECKPOINTABLE_OBJECT_GRAPH", "save_counter/.ATTRIBUTES/VARIABLE_VALUE"}
    names = sorted(n for n in hook.get_variable_to_shape_map() if n not in skip)
    assert names == sorted(n for n in plain.get_variable_to_shape_map() if n not in skip)
    assert len(names) > 10
    for name in names:
        np.testing.assert_array_equal(hook.get_tensor(name), plain.get_tensor(name), err_msg=name)
    without_scores = [{k: v for k, v in row.items() if k not in SCORES} for row in _history(runs["hook"])]
    assert without_scores == _history(runs["plain"])


def test_keep_scored_keeps_the_checkpoint_of_every_scored_epoch(runs, tmp_path):
    """--keep_scored: checkpoints/scored/ holds each scored epoch's weights, which evaluate can pick by path."""
    from genzoo.training.runs import load_model

    scored = tf.train.get_checkpoint_state(str(runs["hook"] / "checkpoints" / "scored")).all_model_checkpoint_paths
    assert [int(path.rsplit("-", 1)[1]) for path in scored] == [row["step"] for row in _history(runs["hook"])]
    last, _ = load_model(str(runs["hook"]), "latest")
    first, config = load_model(str(runs["hook"]), scored[0])
    assert config["checkpoint"] == scored[0]
    same = [np.array_equal(a.numpy(), b.numpy()) for a, b in zip(load_model(str(runs["hook"]), scored[1])[0].weights,
                                                                  last.weights)]
    assert all(same) and not all(np.array_equal(a.numpy(), b.numpy()) for a, b in zip(first.weights, last.weights))
    assert not (runs["plain"] / "checkpoints" / "scored").exists()
    with pytest.raises(UserError, match="--keep_scored needs --quality_every"):
        TrainConfig(model_dir=str(tmp_path / "run"), keep_scored=True).validate()


def test_bad_quality_flags_give_one_line_errors_and_write_nothing(tmp_path, small_npz_dataset):
    tiny = tmp_path / "tiny.npz"  # 10 images: the canonical split keeps 1 for test (index 0)
    with np.load(small_npz_dataset[len("npz:"):]) as full:
        np.savez(tiny, images=full["images"][:10], labels=full["labels"][:10], palette=full["palette"])
    cases = {
        "negative every": ([f"--dataset={small_npz_dataset}", "--quality_every=-1"],
                           "--quality_every must be >= 0 (0 is off), got -1"),
        "one sample": ([f"--dataset={small_npz_dataset}", "--quality_every=1", "--quality_samples=1"],
                       "--quality_samples must lie in 2-4096, got 1"),
        "not a number": ([f"--dataset={small_npz_dataset}", "--quality_every=often"], "--quality_every"),
        "one held-out image": ([f"--dataset=npz:{tiny}", "--quality_every=1", "--batch_size=9"],
                               "--quality_every needs at least 2 held-out images; the test split of"),
    }
    cases.update({
        "features without scores": ([f"--dataset={small_npz_dataset}", f"--features={tmp_path / 'f.keras'}"],
                                    "needs --quality_every"),
        "features not keras": ([f"--dataset={small_npz_dataset}", "--quality_every=1", f"--features={tmp_path}/f.h5"],
                               "expected a .keras file"),
        "features missing": ([f"--dataset={small_npz_dataset}", "--quality_every=1", f"--features={tmp_path}/f.keras"],
                             "file not found"),
    })
    procs = {name: start_tool("train", f"--model_dir={tmp_path / name.replace(' ', '_')}", SMALL_VAE,
                              f"--features_dir={tmp_path / 'features'}", *flags)
             for name, (flags, _) in cases.items()}
    assert_one_line_errors(procs, cases)
    for name in cases:
        assert not (tmp_path / name.replace(" ", "_")).exists(), name
    assert not (tmp_path / "features").exists()


def test_a_user_feature_model_scores_in_its_own_space_and_is_recorded(tmp_path, small_npz_dataset):
    """--features: the run's scores are the evaluate tool's with the same user model."""
    import keras

    from genzoo.tools.evaluate import evaluate

    inputs = keras.Input((20, 20, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(8, 3, activation="relu")(inputs / 255.0))
    path = str(tmp_path / "features.keras")
    keras.Model(inputs, pooled).save(path)
    config = TrainConfig(model="vae", dataset=small_npz_dataset, model_dir=str(tmp_path / "run"), epochs=1,
                         batch_size=30, seed=SEED, num_samples=4, quality_every=1, quality_samples=SAMPLES,
                         features=path, features_dir=str(tmp_path / "unused"), hparams=SMALL_HPARAMS["vae"])
    train(config, verbose=0)
    record = json.loads((tmp_path / "run" / "config.json").read_text())["quality_features"]
    assert record["kind"] == "user_model" and record["path"] == path
    assert not (tmp_path / "unused").exists()  # genzoo's classifier was neither trained nor loaded
    metrics = evaluate(str(tmp_path / "run"), str(tmp_path / "eval"), split="test", seed=SEED, num_samples=SAMPLES,
                       num_seeds=1, iw_samples=(1,), features=path, verbose=0)
    last = _history(tmp_path / "run")[-1]
    for name in SCORES[:-1]:
        expected = metrics["sample_quality"]["scores"][name.split("/")[1]]["per_seed"][0]
        assert last[name] == pytest.approx(expected, rel=1e-6, abs=1e-9), name
