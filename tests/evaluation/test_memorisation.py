import numpy as np
import pytest

from genzoo.evaluation import memorisation


@pytest.fixture(scope="module")
def sprites():
    from genzoo.data import builtin, palette_to_rgb

    images, _ = builtin.generate(120)
    rgb = palette_to_rgb(images, builtin.PALETTE).numpy()
    return rgb[:100], rgb[100:]  # training, held-out


def test_a_model_returning_training_images_is_flagged_as_all_copies(sprites):
    train, heldout = sprites
    copies = train[np.random.default_rng(0).permutation(100)[:40]]
    result = memorisation.audit(copies, train, heldout)
    assert result["near_copy_share"] == 1.0
    assert result["distance_to_train"].max() < 1e-6
    assert np.array_equal(train[result["nearest_train_index"]], copies)
    # A copier sits on the training set, further from the held-out set.
    assert result["mean_distance_to_heldout"] > result["mean_distance_to_train"]


def test_a_noise_generator_has_no_copies(sprites):
    train, heldout = sprites
    noise = np.random.default_rng(1).integers(0, 256, size=(40, 20, 20, 3), dtype=np.uint8)
    result = memorisation.audit(noise, train, heldout)
    assert result["near_copy_share"] == 0.0
    assert result["distance_to_train"].min() > memorisation.NEAR_COPY_THRESHOLD


def test_threshold_separates_one_stray_pixel_from_a_few():
    train = np.zeros((1, 20, 20, 3), np.uint8)
    one_grey_pixel = train.copy()
    one_grey_pixel[0, 0, 0] = 128  # RMS sqrt(3 * 0.5^2 / 1200) = 0.025
    four_white_pixels = train.copy()
    four_white_pixels[0, 0, :4] = 255  # RMS sqrt(12 / 1200) = 0.1
    d, _ = memorisation.nearest(np.concatenate([one_grey_pixel, four_white_pixels]), train)
    assert d == pytest.approx([0.025, 0.1], abs=1e-3)
    assert (d < memorisation.NEAR_COPY_THRESHOLD).tolist() == [True, False]


def test_nearest_matches_brute_force_across_chunks():
    rng = np.random.default_rng(2)
    queries = rng.integers(0, 256, size=(7, 4, 4, 3), dtype=np.uint8)
    reference = rng.integers(0, 256, size=(11, 4, 4, 3), dtype=np.uint8)
    d, i = memorisation.nearest(queries, reference, chunk=3)
    brute = np.sqrt((((queries[:, None].astype(float) - reference[None]) / 255) ** 2).mean(axis=(2, 3, 4)))
    assert np.array_equal(i, brute.argmin(1))
    assert np.allclose(d, brute.min(1), atol=1e-5)


def test_pairs_picture_puts_each_sample_beside_its_nearest_training_image(sprites):
    train, heldout = sprites
    result = memorisation.audit(heldout, train, heldout)
    picture = memorisation.pairs_picture(heldout, train, result, num=8, scale=2, pairs_per_row=4)
    assert picture.shape == (2 * 41 + 1, 8 * 41 + 1, 3)
    first = np.argsort(result["distance_to_train"])[0]
    assert np.array_equal(picture[1:41:2, 1:41:2], heldout[first])
    assert np.array_equal(picture[1:41:2, 42:82:2], train[result["nearest_train_index"][first]])
