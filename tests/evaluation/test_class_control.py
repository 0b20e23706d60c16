"""Class control: the share of a conditional model's samples named as the class asked for."""

import numpy as np

from genzoo.evaluation.class_control import class_control


class Stub:
    """A conditional 'model' whose images carry a class in their pixels: `obeys` draws the
    requested one, otherwise always class 0. Records the temperatures it was given."""

    def __init__(self, obeys: bool, tempered: bool):
        self.obeys, self.tempered, self.temperatures = obeys, tempered, []

    def sample(self, num, seed, labels=None, temperature=1.0):
        self.temperatures.append(temperature)
        shown = labels if self.obeys else np.zeros_like(labels)
        return np.broadcast_to(shown[:, None, None], (num, 2, 2)).astype(np.int32)


def read_class(rgb):
    return rgb[:, 0, 0, 0]


def to_rgb(images):
    return np.repeat(images[..., None], 3, axis=-1).astype(np.uint8)


def test_an_obedient_model_scores_one_and_one_that_ignores_labels_scores_chance():
    obedient = class_control(Stub(True, False), read_class, to_rgb, num_classes=4, per_class=5, seed=0)
    assert obedient["accuracy"] == 1.0 and obedient["per_class"] == [1.0] * 4 and obedient["chance"] == 0.25
    ignoring = class_control(Stub(False, False), read_class, to_rgb, num_classes=4, per_class=5, seed=0)
    assert ignoring["per_class"] == [1.0, 0.0, 0.0, 0.0] and ignoring["accuracy"] == 0.25


def test_temperature_reaches_tempered_models_only():
    tempered, plain = Stub(True, True), Stub(True, False)
    class_control(tempered, read_class, to_rgb, 3, 2, seed=1, temperature=0.5)
    class_control(plain, read_class, to_rgb, 3, 2, seed=1, temperature=0.5)
    assert tempered.temperatures == [0.5] * 3 and plain.temperatures == [1.0] * 3
