"""`python -m genzoo.evaluation.classifier_job '<json>'`: trains genzoo's feature classifier
deterministically (op determinism, fixed seed) in a process of its own; see `features.train_in_subprocess`."""

import json
import sys


def main(args: dict) -> None:
    import numpy as np
    import tensorflow as tf

    import genzoo  # noqa: F401 - its TensorFlow settings, as in every genzoo process
    from genzoo.evaluation import features

    tf.config.experimental.enable_op_determinism()
    with np.load(args["job"], allow_pickle=False) as job:
        train, test = (job["train_x"], job["train_y"]), (job["test_x"], job["test_y"])
    features.train_classifier(train, test, args["num_classes"], args["dataset"], args["out_dir"],
                              args["epochs"], args["seed"])


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
