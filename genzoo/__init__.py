"""genzoo: deep generative image models (PixelRNN, VAE, GAN) for TensorFlow/Keras.

Submodules load on first use (`genzoo.data`, `genzoo.models`, ...), so the
command-line tools can set TensorFlow's logging before TensorFlow starts.
"""

import importlib
import os

# TensorFlow turns its oneDNN kernels on by default only on CPUs with AVX-512 VNNI/BF16
# or AMX; on AVX2 CPUs they train the convolutional models 1.1-1.9x faster
# (docs/performance.md). Read when TensorFlow loads, so it only takes effect if genzoo
# is imported first; TF_ENABLE_ONEDNN_OPTS=0 opts out.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

__version__ = "0.1.0"

__all__ = ["__version__", "data", "distribute", "images", "losses", "models", "training"]
_SUBMODULES = frozenset(__all__) - {"__version__"}  # imported on first use: `import genzoo` stays light


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"genzoo.{name}")
    raise AttributeError(f"module 'genzoo' has no attribute {name!r}")

