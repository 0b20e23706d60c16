"""genzoo's one training loop, for every model and every tf.distribute strategy."""

from genzoo.training.config import TrainConfig

__all__ = ["TrainConfig", "train"]


def __getattr__(name):
    # The loop (and TensorFlow) load on first use: `genzoo.tools.train` checks its flags first.
    if name == "train":
        from genzoo.training.loop import train

        return train
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
