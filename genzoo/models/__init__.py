"""Models: each family registers its classes; `registry.build(name, spec)` makes one.

What a model can do is declared in `genzoo.models.capabilities`; see docs/architecture.md.
"""

from genzoo.models import capabilities, registry
from genzoo.models.autoregressive import (
    AutoregressiveModel,
    DiagonalBiLSTM,
    GatedPixelCNN,
    PixelCNN,
    PixelLSTM,
    RowLSTM,
)
from genzoo.models.base import GenerativeModel
from genzoo.models.gan import DCGAN, GAN, ConditionalGAN
from genzoo.models.vae import VAE, ConditionalVAE


def from_preset(name: str):
    """A pretrained model shipped with genzoo (`python -m genzoo.tools.presets` lists them)."""
    from genzoo import presets

    return presets.load(name)


__all__ = [
    "DCGAN", "GAN", "VAE", "AutoregressiveModel", "ConditionalGAN", "ConditionalVAE", "DiagonalBiLSTM",
    "GatedPixelCNN", "GenerativeModel", "PixelCNN", "PixelLSTM", "RowLSTM", "capabilities", "from_preset", "registry",
]
