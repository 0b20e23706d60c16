"""Small hyper-parameters per registered model, so tests over every model stay fast.

A model missing here is built with its defaults (slow but still covered).
"""

_GAN = {"latent_dim": 8, "filters": 8, "hidden": 32}
# The plain decoder: these rows test plumbing, and the PixelVAE (the vae's default) compiles its sampling
# loop in every process; tests/models/test_vae.py covers the PixelVAE, its export included.
_VAE = {"latent_dim": 4, "filters": 4, "hidden": 16, "pixel_layers": 0}
_RNN2D = {"units": 8, "layers": 1, "filters": 8, "embed_dim": 8}

SMALL_HPARAMS = {
    "vae": _VAE,
    # The class prior and guidance ride along every contract test (export, .keras, restore, strategies).
    "cvae": {**_VAE, "class_prior": True, "label_dropout": 0.2, "guidance": 2.0},
    "gan": _GAN,
    # The data-efficient recipe, the self-supervised discriminator (its decoder: checkpoints, R1, strategies),
    # ADA with p moving after every step (its all-reduced signs and p across strategies, in exports and files) and
    # the silhouette discriminator on regions with a background (its optimizer in checkpoints, its step, its
    # masks translated and cut out), LeCam (its all-reduced averages across strategies, in files) and the body's
    # edge smoothed alone (region_smooth_parts=False).
    "dcgan": {**_GAN, "loss": "hinge", "augment": "color,translation,cutout", "spectral_norm": True, "r1_gamma": 1.0,
              "recon_weight": 1.0, "ada_target": 0.6, "ada_interval": 1, "ada_images": 64, "ada_p_start": 0.5,
              "regions": 4, "region_background": True, "silhouette_weight": 1.0,
              "silhouette_augment": "xflip,translation,cutout", "lecam_weight": 0.3,
              "region_smooth": 2, "region_smooth_parts": False},
    # The contract (export, .keras, restore, strategies) with painted, shaded regions, the texture and parts terms
    # and the patch discriminator (its weights in the discriminator's optimizer, its batch norm across replicas), the
    # accents painted over the body, a generator wider than the discriminator and smoothed region logits.
    "cgan": {**_GAN, "regions": 4, "shading": 0.3, "texture_weight": 1.0, "parts": 2, "patch_weight": 1.0,
             "accents": 2, "g_filters": 12, "region_smooth": 2},
    "pixel_lstm": {"units": 16},
    "row_lstm": _RNN2D,
    "diagonal_bilstm": _RNN2D,
    "pixel_cnn": {"filters": 8, "blocks": 1, "embed_dim": 8},
    "gated_pixel_cnn": {"filters": 8, "layers": 2, "embed_dim": 8},
}
