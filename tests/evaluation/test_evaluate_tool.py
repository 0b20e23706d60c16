"""End to end: `python -m genzoo.tools.evaluate` on a tiny trained VAE run (genzoo/tools/evaluate.py)."""

import json

import numpy as np
import pytest
import tensorflow as tf

from genzoo.evaluation.pixel_statistics import NAMES
from tests.tools.conftest import assert_one_line_errors, run_tool, start_tool


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory, small_npz_dataset):
    from genzoo.training import TrainConfig, train

    run = tmp_path_factory.mktemp("vae_run")
    train(TrainConfig(model="vae", dataset=small_npz_dataset, model_dir=str(run), epochs=1, batch_size=30,
                      num_samples=4, hparams={"latent_dim": 4, "filters": 4, "hidden": 16, "pixel_layers": 0}), verbose=0)
    return run


@pytest.fixture(scope="module")
def features_dir(tmp_path_factory):
    """One feature-classifier folder for the module: the first evaluation trains it, the next reuse it
    (tests/evaluation/test_features.py covers training, reuse and retraining)."""
    return tmp_path_factory.mktemp("features")


def test_evaluate_writes_metrics_figures_and_tensorboard_scalars(tmp_path, vae_run, small_npz_dataset, features_dir):
    out = tmp_path / "eval"
    result = run_tool("evaluate", f"--model_dir={vae_run}", f"--dataset={small_npz_dataset}", "--split=test",
                      f"--out={out}", "--seed=0", "--num_samples=40", "--num_seeds=2", "--iw_samples=1,8",
                      f"--features_dir={features_dir}", "--classifier_epochs=1")
    assert result.returncode == 0, result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["model"] == "vae" and metrics["num_heldout_images"] == 20
    bounds = metrics["likelihood"]["bounds"]
    assert set(bounds) == {"1", "8"} and bounds["1"]["bits_per_dim"] > 0
    quality = metrics["sample_quality"]
    assert quality["features"]["kind"] == "genzoo_classifier" and quality["features"]["dataset"] == small_npz_dataset
    assert "test_accuracy" in quality["features"] and quality["seeds"] == [0, 1]
    for name in ("frechet_distance", "kid", "precision", "recall"):
        assert len(quality["scores"][name]["per_seed"]) == 2
        assert quality["scores"][name]["std"] == pytest.approx(np.std(quality["scores"][name]["per_seed"]))
    assert metrics["memorisation"]["threshold"] == 0.05 and metrics["memorisation"]["num_samples"] == 40
    two = metrics["two_sample"]
    for side in ("samples_vs_heldout", "training_vs_heldout_reference"):
        c2st = two[side]["c2st"]
        assert c2st["num_per_side"] == 20 and len(c2st["per_seed"]) == 2 and 0 <= c2st["accuracy"] <= 1
        assert 0 < c2st["p_value"] <= 1 and c2st["chance_band_99"] > 0
        for space in ("nearest_neighbour_pixels", "nearest_neighbour_features"):
            assert set(two[side][space]) >= {"accuracy", "real_side", "fake_side"}
    # What gives the samples away: the test without the statistics, and each statistic on both sides.
    assert not two["samples_vs_heldout"]["c2st_pixels_only"]["pixel_statistics"]
    assert two["samples_vs_heldout"]["c2st"]["pixel_statistics"]
    statistics = two["samples_vs_heldout"]["pixel_statistics"]
    assert set(statistics) == set(NAMES) and all(0 <= v["auc"] <= 1 for v in statistics.values())
    assert "without the pixel statistics" in result.stdout and "furthest from the held-out images: " in result.stdout
    # Training images pass for held-out ones far better than a 1-epoch VAE's samples do.
    assert two["training_vs_heldout_reference"]["c2st"]["accuracy"] < two["samples_vs_heldout"]["c2st"]["accuracy"]
    assert metrics["memorisation"]["c2st_samples_vs_training"]["num_per_side"] == 40
    assert set(metrics["figures"]) == {"samples.png", "latent_traversal.png", "interpolation.png",
                                       "memorisation_pairs.png"}
    for name, size in metrics["figures"].items():
        png = tf.io.decode_png(tf.io.read_file(str(out / name))).numpy()
        assert list(png.shape[:2]) == size and png.std() > 0, name
    assert metrics["figures"]["latent_traversal.png"] == [4 * 81 + 1, 9 * 81 + 1]  # 4 latent dims x 9 steps
    events = list((out / "logs").glob("events.*"))
    tags = {v.tag for e in events for record in tf.compat.v1.train.summary_iterator(str(e)) for v in record.summary.value}
    assert {"likelihood/bounds/8/bits_per_dim", "sample_quality/scores/frechet_distance/mean",
            "memorisation/near_copy_share", "two_sample/samples_vs_heldout/c2st/accuracy"} <= tags
    assert any(tag.startswith("two_sample/samples_vs_heldout/pixel_statistics/speckle") for tag in tags), tags


def test_bad_input_gives_a_one_line_error_and_exit_2(tmp_path, vae_run):
    cases = {
        "missing run": ([f"--model_dir={tmp_path / 'nope'}"], "--model_dir="),
        "not a run": ([f"--model_dir={tmp_path}"], "not a genzoo run (no config.json)"),
        "bad k": ([f"--model_dir={vae_run}", "--iw_samples=0,8"], "--iw_samples must be integers in 1-4096"),
        "bad split": ([f"--model_dir={vae_run}", "--split=valid"], "--split"),
        "bad features": ([f"--model_dir={vae_run}", f"--features={tmp_path / 'x.keras'}"], "file not found"),
    }
    procs = {name: start_tool("evaluate", *flags, f"--out={tmp_path / 'out'}") for name, (flags, _) in cases.items()}
    assert_one_line_errors(procs, cases)
    assert not (tmp_path / "out").exists()


def test_a_conditional_run_is_scored_on_class_control_and_an_unconditional_one_is_not(tmp_path, vae_run,
                                                                                      small_npz_dataset, features_dir):
    from genzoo.tools.evaluate import evaluate
    from genzoo.training import TrainConfig, train

    run = tmp_path / "cvae"
    train(TrainConfig(model="cvae", dataset=small_npz_dataset, model_dir=str(run), epochs=1, batch_size=30,
                      num_samples=4, hparams={"latent_dim": 4, "filters": 4, "hidden": 16, "pixel_layers": 0}),
          verbose=0)
    common = {"split": "test", "seed": 0, "num_samples": 40, "num_seeds": 1, "iw_samples": (1,),
                  "features_dir": str(features_dir), "classifier_epochs": 1, "verbose": 0}
    control = evaluate(str(run), str(tmp_path / "eval_cvae"), **common)["class_control"]
    assert control["per_class_samples"] == 10 and len(control["per_class"]) == 4 and control["chance"] == 0.25
    assert control["accuracy"] == pytest.approx(np.mean(control["per_class"]))
    assert 0 <= control["classifier_heldout_accuracy"] <= 1
    written = json.loads((tmp_path / "eval_cvae" / "metrics.json").read_text())["class_control"]
    assert written == control
    assert "class_control" not in evaluate(str(vae_run), str(tmp_path / "eval_vae"), **common)
