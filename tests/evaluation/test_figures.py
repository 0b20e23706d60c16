import keras
import numpy as np
import pytest
import tensorflow as tf

from genzoo import images as pictures
from genzoo.data import builtin
from genzoo.evaluation import figures
from genzoo.models import registry
from tests.small_models import SMALL_HPARAMS

SCALE = 2
TILE = 20 * SCALE + 1  # one enlarged sprite and its padding


def model(name, spec=builtin.SPEC):
    keras.utils.set_random_seed(0)  # untrained weights, but the same ones every run
    return registry.get(name)(spec, **SMALL_HPARAMS[name])


@pytest.fixture(scope="module")
def heldout():
    images, labels = builtin.generate(8)
    return images.astype(np.int32), labels.astype(np.int32)


def check_written(tmp_path, picture, rows, columns, tile=TILE):
    """Saved as PNG with the expected pixel size, and not blank: more colours than grey padding and one fill."""
    path = str(tmp_path / "figure.png")
    pictures.save_png(path, picture)
    png = tf.io.decode_png(tf.io.read_file(path)).numpy()
    assert png.shape == (rows * tile + 1, columns * tile + 1, 3)
    assert len(np.unique(png.reshape(-1, 3), axis=0)) > 2


def test_sample_grid_has_one_row_per_class_for_conditional_models(tmp_path):
    check_written(tmp_path, figures.sample_grid(model("vae"), 9, seed=0, scale=SCALE), 3, 3)
    check_written(tmp_path, figures.sample_grid(model("cvae"), 12, seed=0, scale=SCALE), 4, 3)
    check_written(tmp_path, figures.sample_grid(model("cgan"), 8, seed=0, scale=SCALE), 4, 2)


def test_latent_traversal_has_one_row_per_latent_dimension(tmp_path, heldout):
    vae = model("vae")
    picture = figures.latent_traversal(vae, heldout[0], steps=5, scale=SCALE)
    check_written(tmp_path, picture, SMALL_HPARAMS["vae"]["latent_dim"], 5)
    assert sorted(figures.latent_order(vae, heldout[0])) == list(range(4))
    picture = figures.latent_traversal(model("cvae"), heldout[0], heldout[1], steps=5, max_dims=2, scale=SCALE)
    check_written(tmp_path, picture, 2, 5)


def test_vae_interpolation_runs_between_two_encoded_real_images(tmp_path, heldout):
    picture = figures.vae_interpolation(model("vae"), heldout[0][:4], steps=5, scale=SCALE)
    check_written(tmp_path, picture, 2, 7)
    # The first and last tiles of a row are the two real images.
    real = pictures.grid(figures._rgb(heldout[0][:2], builtin.SPEC), columns=1, scale=SCALE)
    assert np.array_equal(picture[1:TILE, 1:TILE], real[1:TILE, 1:TILE])
    assert np.array_equal(picture[1:TILE, 6 * TILE + 1:7 * TILE], real[TILE + 1:2 * TILE, 1:TILE])


def test_code_interpolation_walks_between_two_codes(tmp_path):
    check_written(tmp_path, figures.code_interpolation(model("gan"), rows=2, steps=6, seed=0, scale=SCALE), 2, 6)


def test_completions_show_half_and_three_quarters_hidden(tmp_path):
    small = builtin.SPEC.replace(height=6, width=6)
    images, _ = builtin.generate(2)
    images = images[:, 7:13, 7:13].astype(np.int32)
    picture = figures.completions(model("pixel_cnn", small), images, seed=0, scale=SCALE)
    tile = 6 * SCALE + 1
    check_written(tmp_path, picture, 2, 5, tile=tile)
    top = picture[1:tile, :]
    # 50% hidden: rows 3-5 grey in the masked tile; 75% hidden: 9 of 36 pixels kept.
    masked50 = top[:, tile + 1:2 * tile][::SCALE, ::SCALE]
    masked75 = top[:, 3 * tile + 1:4 * tile][::SCALE, ::SCALE]
    assert (masked50[3:] == figures.HIDDEN_GREY).all() and not (masked50[:3] == figures.HIDDEN_GREY).all()
    assert (masked75.reshape(-1, 3)[9:] == figures.HIDDEN_GREY).all()
    # The kept pixels survive into the completion.
    completed50 = top[:, 2 * tile + 1:3 * tile][::SCALE, ::SCALE]
    assert np.array_equal(completed50[:3], masked50[:3])
