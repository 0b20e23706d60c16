"""genzoo's one training loop, for every model and every tf.distribute strategy."""

from genzoo.training.config import TrainConfig
from genzoo.training.loop import train

__all__ = ["TrainConfig", "train"]
