"""The VAE family: the variational autoencoder and its conditional version."""

from genzoo.models.vae.vae import VAE, ConditionalVAE

__all__ = ["VAE", "ConditionalVAE"]
