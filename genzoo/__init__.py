"""genzoo: deep generative image models (PixelRNN, VAE, GAN) for TensorFlow/Keras.

Submodules load on first use (`genzoo.data`, `genzoo.models`, ...), so the
command-line tools can set TensorFlow's logging before TensorFlow starts.
"""

import importlib

__version__ = "0.1.0"

_SUBMODULES = ("data", "models", "training", "distribute", "images", "losses")


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"genzoo.{name}")
    raise AttributeError(f"module 'genzoo' has no attribute {name!r}")


__all__ = ["__version__", *_SUBMODULES]
