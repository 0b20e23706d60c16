"""The GAN family: the adversarial game, its networks, DCGAN and the conditional DCGAN."""

from genzoo.models.gan.gan import DCGAN, GAN, ConditionalGAN

__all__ = ["DCGAN", "GAN", "ConditionalGAN"]
