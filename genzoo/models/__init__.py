"""Models: each module registers its classes; `registry.build(name, spec)` makes one."""

from genzoo.models import registry
from genzoo.models.base import GenerativeModel
from genzoo.models.gan import DCGAN, GAN, ConditionalGAN
from genzoo.models.pixel_cnn import PixelCNN
from genzoo.models.pixel_rnn import DiagonalBiLSTM, PixelLSTM, RowLSTM
from genzoo.models.vae import VAE, ConditionalVAE

__all__ = ["VAE", "ConditionalVAE", "GenerativeModel", "registry"]
