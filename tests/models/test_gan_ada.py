"""Adaptive discriminator augmentation (ADA, Karras et al. 2020): its ops, p's rule, its state."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from genzoo.data import DatasetSpec
from genzoo.errors import UserError
from genzoo.models import DCGAN
from genzoo.models.gan import augment

SEED = tf.constant([5, 2], tf.int64)
POKEMON40 = DatasetSpec("pokemon40", 40, 40, "rgb", channels=3)
TINY = {"latent_dim": 4, "filters": 4}


def _images(batch=8, height=6, width=6, channels=3, seed=0):
    return tf.random.stateless_uniform([batch, height, width, channels], [seed, 0], -1.0, 1.0)


# === The ops ===
def test_rotate90_turns_each_image_as_tf_image_rot90_by_its_drawn_quarter_turns():
    x = _images(batch=32)
    y = augment.rotate90(x, SEED).numpy()
    turns = set()
    for image, rotated in zip(x, y):
        k = [k for k in range(4) if np.array_equal(tf.image.rot90(image, k).numpy(), rotated)]
        assert len(k) == 1, "not a quarter turn of its input"
        turns.add(k[0])
    assert turns == {0, 1, 2, 3}  # 32 draws: every turn occurs (fixed seed)


def test_xflip_mirrors_about_half_the_images_and_keeps_the_others():
    x = _images(batch=64)
    y = augment.xflip(x, SEED).numpy()
    flipped = np.array([np.array_equal(b, a[:, ::-1]) for a, b in zip(x.numpy(), y)])
    kept = np.array([np.array_equal(b, a) for a, b in zip(x.numpy(), y)])
    assert np.all(flipped ^ kept) and 16 < flipped.sum() < 48


def test_colour_ops_keep_what_they_scale_around():
    x = _images(batch=8)
    shift = (augment.brightness(x, SEED) - x).numpy()  # one constant per image
    assert np.allclose(shift, shift[:, :1, :1, :1], atol=1e-6) and np.std(shift[:, 0, 0, 0]) > 0.02
    contrasted = augment.contrast(x, SEED)  # the image mean stays
    np.testing.assert_allclose(tf.reduce_mean(contrasted, [1, 2, 3]), tf.reduce_mean(x, [1, 2, 3]), atol=1e-5)
    saturated = augment.saturation(x, SEED)  # each pixel's grey stays, its colour scales by one factor per image
    np.testing.assert_allclose(tf.reduce_mean(saturated, -1), tf.reduce_mean(x, -1), atol=1e-5)
    ratio = (saturated - tf.reduce_mean(saturated, -1, keepdims=True)) / (x - tf.reduce_mean(x, -1, keepdims=True))
    assert np.allclose(ratio.numpy(), ratio.numpy()[:, :1, :1, :1], rtol=1e-3)


def test_p_zero_keeps_every_image_and_p_one_changes_every_image():
    x = _images(batch=16)
    np.testing.assert_array_equal(augment.adaptive_augment(x, SEED, 0.0).numpy(), x.numpy())
    y = augment.adaptive_augment(x, SEED, 1.0, "brightness").numpy()
    assert np.all(np.abs(y - x.numpy()).reshape(16, -1).max(axis=1) > 0)


def test_each_op_is_applied_with_probability_p_per_image():
    x = _images(batch=2000, height=2, width=2, channels=1)
    y = augment.adaptive_augment(x, SEED, 0.3, "brightness").numpy()
    changed = np.abs(y - x.numpy()).reshape(2000, -1).max(axis=1) > 0
    assert abs(changed.mean() - 0.3) < 0.035  # binomial sd 0.010
    # Two ops: an image is untouched with probability (1 - p)^2.
    y = augment.adaptive_augment(x, SEED, 0.3, "brightness,contrast").numpy()
    assert abs((np.abs(y - x.numpy()).reshape(2000, -1).max(axis=1) == 0).mean() - 0.49) < 0.04


def test_adaptive_augment_is_seeded_and_differentiable():
    x = _images()
    a = augment.adaptive_augment(x, SEED, 0.7).numpy()
    np.testing.assert_array_equal(a, augment.adaptive_augment(x, SEED, 0.7).numpy())
    assert not np.array_equal(a, augment.adaptive_augment(x, SEED + 1, 0.7).numpy())
    with tf.GradientTape() as tape:
        tape.watch(x)
        total = tf.reduce_sum(augment.adaptive_augment(x, SEED, 0.7) * _images(seed=1))
    gradient = tape.gradient(total, x).numpy()
    assert np.all(np.isfinite(gradient)) and np.all(np.abs(gradient).reshape(8, -1).max(axis=1) > 0)


@pytest.mark.parametrize("ops,message", [
    ("", "ada_ops must name at least one"),
    ("xflip,blur", "unknown augmentation 'blur' in ada_ops"),
])
def test_bad_ops_name_the_culprit(ops, message):
    with pytest.raises(UserError, match=message):
        augment.check_ada_ops(ops, 8, 8)


def test_quarter_turns_need_square_images():
    with pytest.raises(UserError, match="rotate90 needs square images, got 8x6"):
        augment.check_ada_ops("xflip+rotate90", 8, 6)
    wide = DCGAN(DatasetSpec("wide", 8, 16, "rgb", channels=3), ada_target=0.6, **TINY)
    assert "rotate90" not in wide.ada_ops and "xflip" in wide.ada_ops  # the default leaves them out there


# === p's rule ===
def _ada(**kw):
    model = DCGAN(POKEMON40, ada_target=0.6, ada_interval=4, ada_images=1000, **TINY, **kw)
    model.compile_for_training(1e-3)
    return model


@pytest.mark.parametrize("signs,start,expected", [
    ([30.0, 40.0], 0.5, 0.54),  # r = 0.75 above the target: p rises by 40 images / 1000
    ([-8.0, 40.0], 0.5, 0.46),  # r = -0.2 below: p falls
    ([-8.0, 40.0], 0.01, 0.0),  # and stops at 0
    ([40.0, 40.0], 0.99, 1.0),  # or at 1
])
def test_p_moves_by_the_sign_of_r_minus_the_target_every_interval(signs, start, expected):
    model = _ada(ada_p_start=start)
    model.ada_signs.assign(signs)
    model.g_optimizer.iterations.assign(3)  # three generator steps done: not due
    model.adapt_augmentation()
    assert float(model.ada_p.numpy()) == pytest.approx(start) and list(model.ada_signs.numpy()) == signs
    model.g_optimizer.iterations.assign(4)  # the fourth: p moves and the sums restart
    model.adapt_augmentation()
    assert float(model.ada_p.numpy()) == pytest.approx(expected, abs=1e-6)
    assert list(model.ada_signs.numpy()) == [0.0, 0.0]


def test_a_train_step_counts_the_real_images_and_reports_their_mean_sign():
    model = _ada(ada_p_start=0.5, d_steps=2)
    batch = {"image": tf.cast(_images(batch=6, height=40, width=40, seed=3) * 127 + 128, tf.uint8),
             "label": tf.fill([6], -1)}
    results = tf.function(model.train_step)(batch)
    total, count = model.ada_signs.numpy()
    assert count == 12  # six real images in each of the two discriminator steps, not yet due (interval 4)
    assert float(results["d_real_sign"]) == pytest.approx(total / count) and abs(total) <= count
    assert float(results["ada_p"]) == pytest.approx(0.5)
    held_out = model.test_step(batch)
    assert float(held_out["ada_p"]) == pytest.approx(0.5) and -1 <= float(held_out["d_real_sign"]) <= 1


def test_ada_state_is_saved_and_off_means_no_state():
    model = _ada(ada_p_start=0.25)
    model.ada_signs.assign([3.0, 8.0])
    config = model.get_config()
    assert (config["ada_target"], config["ada_ops"]) == (0.6, augment.DEFAULT_ADA_OPS)
    assert DCGAN.from_config(config).get_config() == config
    path = "ram://ada.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert float(loaded.ada_p.numpy()) == 0.25 and list(loaded.ada_signs.numpy()) == [3.0, 8.0]
    plain = DCGAN(POKEMON40, **TINY)
    assert plain.ada_target == 0 and "ada_p" not in plain.metric_names
    assert not any("ada" in w.path for w in plain.weights)
    old = {k: v for k, v in plain.get_config().items() if not k.startswith("ada_")}  # saved before ADA existed
    assert DCGAN.from_config(old).ada_target == 0


@pytest.mark.parametrize("bad,message", [
    ({"ada_target": 1.0}, r"ada_target must be a number in \[0, 1\)"),
    ({"ada_target": "0.6"}, r"ada_target must be a number in \[0, 1\)"),
    ({"ada_ops": "xflip"}, "ada_ops needs ada_target > 0"),
    ({"ada_target": 0.6, "ada_interval": 0}, "ada_interval must be an integer >= 1"),
    ({"ada_target": 0.6, "ada_images": 2.5}, "ada_images must be an integer >= 1"),
    ({"ada_target": 0.6, "ada_p_start": 1.5}, r"ada_p_start must be a number in \[0, 1\]"),
])
def test_bad_ada_values_name_the_culprit(bad, message):
    with pytest.raises(UserError, match=message):
        DCGAN(POKEMON40, **TINY, **bad)
