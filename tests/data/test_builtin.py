import numpy as np

from genzoo.data import builtin, load


def test_generation_is_deterministic_and_in_palette():
    a, la = builtin.generate()
    b, lb = builtin.generate()
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(la, lb)
    assert a.shape == (builtin.NUM_EXAMPLES, 20, 20)
    assert a.max() < len(builtin.PALETTE)
    assert set(np.unique(la)) == set(range(len(builtin.SHAPES)))


def test_every_sprite_has_outline_and_its_one_fill_colour():
    images, _ = builtin.generate(200)
    f = builtin.factors(200)
    for image, colour in zip(images, f["colour"]):
        values = set(np.unique(image)) - {0}
        assert builtin.OUTLINE_INDEX in values
        assert values <= {builtin.OUTLINE_INDEX, 2 + colour}


def test_shape_size_grows_with_radius():
    images, _ = builtin.generate(2000)
    f = builtin.factors(2000)
    area = (images != 0).sum(axis=(1, 2))
    means = [area[(f["radius"] == r) & (f["shape"] == 1)].mean() for r in builtin.RADII]
    assert means == sorted(means) and means[0] < means[-1]


def test_load_splits_follow_canonical_rule():
    train, spec = load("shapes", "train")
    test, _ = load("shapes", "test")
    assert spec.num_colors == len(builtin.PALETTE) and spec.num_classes == 4
    n_train, n_test = len(list(train)), len(list(test))
    assert (n_train, n_test) == (builtin.NUM_EXAMPLES * 9 // 10, builtin.NUM_EXAMPLES // 10)
    images, _ = builtin.generate()
    first_test = next(iter(test))["image"].numpy()
    np.testing.assert_array_equal(first_test, images[0])
