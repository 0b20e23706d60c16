"""`one_body`: samples keep each image's largest 8-connected body piece (docs/gan.md, "One body")."""

from collections import deque

import keras
import numpy as np
import pytest
import tensorflow as tf

from genzoo import data
from genzoo.data import encodings
from genzoo.errors import UserError
from genzoo.models import DCGAN
from genzoo.models import capabilities as caps
from genzoo.models.gan.networks import RegionPaint, largest_body


def _largest_by_flood_fill(body):
    """Brute force: breadth-first 8-connected pieces; the largest, of equal ones the one whose last pixel in
    raster order comes last."""
    h, w = body.shape
    piece = np.zeros((h, w), int)
    best, best_key = None, (0, -1)
    for start in zip(*np.nonzero(body)):
        if piece[start]:
            continue
        piece[start] = 1
        members, queue = [start], deque([start])
        while queue:
            y, x = queue.popleft()
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    n = (y + dy, x + dx)
                    if 0 <= n[0] < h and 0 <= n[1] < w and body[n] and not piece[n]:
                        piece[n] = 1
                        members.append(n)
                        queue.append(n)
        key = (len(members), max(y * w + x for y, x in members))
        if key > best_key:
            best, best_key = members, key
    keep = np.zeros((h, w), bool)
    for pixel in best or []:
        keep[pixel] = True
    return keep


def _one_hot(region, k):
    return np.eye(k, dtype=np.float32)[region]


def test_largest_body_keeps_the_largest_8_connected_piece():
    rng = np.random.default_rng(3)
    region = rng.choice(3, size=(6, 9, 11), p=[0.6, 0.2, 0.2])  # many pieces of two body regions
    region[1] = 0  # no body at all: stays background
    region[2] = 0
    region[2, 1, 1] = region[2, 2, 2] = region[2, 3, 3] = 1  # a diagonal: one 8-connected piece of 3
    region[2, 6, 6:8] = 2  # a pair beside it
    region[3] = 0
    region[3, 1, 1:3] = 1
    region[3, 5, 5:7] = 2  # a tie: the later piece in raster order stays
    weights = _one_hot(region, 3)
    kept = largest_body(tf.constant(weights)).numpy()
    for i in range(len(region)):
        keep = _largest_by_flood_fill(region[i] > 0)
        expected = np.where(keep, region[i], 0)
        np.testing.assert_array_equal(kept[i], _one_hot(expected, 3), err_msg=f"image {i}")
    assert kept[1].argmax(-1).max() == 0 and kept[2].argmax(-1).sum() == 3 and kept[3][5, 5:7, 2].all()
    # Traced with an unknown batch size, as serving and `generate` run it.
    traced = tf.function(largest_body, input_signature=[tf.TensorSpec((None, 9, 11, 3))])
    np.testing.assert_array_equal(traced(tf.constant(weights)).numpy(), kept)


def test_one_body_paints_in_sampling_only_and_before_the_outline():
    rng = np.random.default_rng(5)
    logits = rng.normal(0.0, 3.0, size=(2, 10, 12, 3)).astype(np.float32)
    logits[..., 0] += 5.0  # mostly background, so there are several pieces
    colours = rng.uniform(-1, 1, size=(2, 2 * 3)).astype(np.float32)
    plain = RegionPaint(background=(1.0, 1.0, 1.0), outline=0.8)
    one = RegionPaint(background=(1.0, 1.0, 1.0), outline=0.8, one_body=True)
    np.testing.assert_array_equal(one([logits, colours], training=True), plain([logits, colours], training=True))
    # Sampling: the same as painting the one-hot regions with the smaller pieces already background.
    region = np.where(logits.argmax(-1) > 0, logits.argmax(-1), 0)
    assert max(len(np.unique(region[i])) for i in range(2)) == 3
    kept = np.stack([np.where(_largest_by_flood_fill(r > 0), r, 0) for r in region])
    assert (kept > 0).sum() < (region > 0).sum()  # something was cut
    expected = plain([np.where(_one_hot(kept, 3) > 0, 8.0, -8.0).astype(np.float32), colours], training=False)
    np.testing.assert_allclose(one([logits, colours], training=False), expected, atol=1e-6)
    assert RegionPaint.from_config(one.get_config()).one_body


@pytest.fixture(scope="module")
def painting_dcgan():
    keras.utils.set_random_seed(2)  # module-scoped: the same network whichever test runs first
    spec = data.load("shapes", "train", encoding="rgb")[1]
    model = DCGAN(spec, latent_dim=8, filters=8, seed=1, regions=3, region_background=True, outline=0.7)
    # An untrained generator paints only background: a random region head and a lower background logit
    # make bodies in pieces (about half the pixels body, every image in more than one piece).
    rng = np.random.default_rng(0)
    kernel = None
    for generator in (model.generator, model.ema_generator):
        head = next(layer for layer in generator.layers if layer.name != "shade" and getattr(layer, "filters", 0) == 3)
        kernel = rng.normal(0.0, 10.0, head.kernel.shape) if kernel is None else kernel
        head.kernel.assign(kernel)
        head.bias.assign([-1.0, 0.0, 0.0])
    return model


def test_a_dcgan_switched_to_one_body_samples_one_piece_and_exports_it(painting_dcgan, tmp_path):
    from genzoo import serving

    model = painting_dcgan
    assert caps.OneBody in model.capabilities() and not model.one_body
    white = lambda x: (x == 1.0).all(-1)  # the background colour, exactly
    every = model.sample(8, seed=3).numpy()
    cut = sum(int(_largest_by_flood_fill(~white(x)).sum() < (~white(x)).sum()) for x in every)
    assert cut >= 2  # the test has pieces to cut
    model.set_one_body(True)
    one = model.sample(8, seed=3).numpy()
    for before, after in zip(every, one):
        keep = _largest_by_flood_fill(~white(before))
        np.testing.assert_array_equal(~white(after), keep)
    again = DCGAN.from_config(model.get_config())
    again.set_weights(model.get_weights())
    assert again.one_body
    np.testing.assert_array_equal(again.sample(8, seed=3).numpy(), one)
    loaded = tf.saved_model.load(serving.export(model, str(tmp_path / "export"), max_num_samples=8))
    out = loaded.signatures["sample"](num_samples=tf.constant(8), seed=tf.constant(3, tf.int64))
    np.testing.assert_array_equal(out["images"].numpy(), encodings.to_rgb_uint8(one, model.spec).numpy())
    model.set_one_body(False)
    np.testing.assert_array_equal(model.sample(8, seed=3).numpy(), every)
    # A config saved before one_body existed samples every piece.
    old = {k: v for k, v in model.get_config().items() if k != "one_body"}
    assert not DCGAN.from_config(old).generator.get_layer("region_paint").one_body


def test_one_body_needs_a_background():
    spec = data.load("shapes", "train", encoding="rgb")[1]
    with pytest.raises(UserError, match="one_body must be true or false and needs region_background"):
        DCGAN(spec, latent_dim=8, filters=8, regions=3, one_body=True)
    with pytest.raises(UserError, match="one_body must be true or false"):
        DCGAN(spec, latent_dim=8, filters=8, regions=3, region_background=True, one_body="yes")
    model = DCGAN(spec, latent_dim=8, filters=8, regions=3)
    assert caps.OneBody not in model.capabilities()
    with pytest.raises(UserError, match="one_body needs a GAN trained with region_background"):
        model.set_one_body(True)


def test_pokemon40_samples_one_body_by_default_and_older_runs_keep_every_piece():
    from genzoo.data import DatasetSpec

    spec = DatasetSpec("pokemon40", 40, 40, "rgb", channels=3)
    model = DCGAN(spec, latent_dim=4, filters=4)
    assert model.one_body and model.ema_generator.get_layer("region_paint").one_body
    assert not DCGAN(spec, latent_dim=4, filters=4, one_body=False).one_body
    assert not DCGAN(spec, latent_dim=4, filters=4, region_background=False).one_body  # nothing to keep it on
    assert not DCGAN(DatasetSpec("pokemon", 20, 20, "rgb", channels=3), latent_dim=4, filters=4).one_body
    # A run saved before one_body existed (the presets) samples every piece, as when it was measured.
    old = {k: v for k, v in model.get_config().items() if k != "one_body"}
    assert not DCGAN.from_config(old).generator.get_layer("region_paint").one_body
