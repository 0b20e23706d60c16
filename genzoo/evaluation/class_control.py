"""Class control: do a conditional model's samples show the class they were asked for?

Draws `per_class` samples for every class and lets genzoo's label classifier (the
reproducible feature classifier of a labelled dataset, `features.py`) name their class.
The share named as requested is read beside the classifier's own accuracy on the held-out
images (its ceiling: a perfect model scores about that) and chance (1 / classes).
"""

from __future__ import annotations

import numpy as np


def class_control(model, classify, to_rgb, num_classes: int, per_class: int, seed: int,
                  temperature: float = 1.0) -> dict:
    """`classify(uint8 RGB) -> predicted labels`; `to_rgb(encoded) -> uint8 RGB`."""
    rates = []
    for label in range(num_classes):
        labels = np.full(per_class, label, np.int32)
        temperature_kw = {"temperature": temperature} if model.tempered else {}
        images = to_rgb(np.asarray(model.sample(per_class, seed * 1000 + label, labels=labels, **temperature_kw)))
        rates.append(float(np.mean(np.asarray(classify(images)) == label)))
    return {"accuracy": float(np.mean(rates)), "per_class": rates, "per_class_samples": per_class,
            "chance": 1.0 / num_classes, "seed": seed}
