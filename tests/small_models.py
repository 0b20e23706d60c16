"""Small hyper-parameters per registered model, so tests over every model stay fast.

A model missing here is built with its defaults (slow but still covered).
"""

SMALL_HPARAMS = {
    "vae": {"latent_dim": 4, "filters": 4, "hidden": 16},
    "cvae": {"latent_dim": 4, "filters": 4, "hidden": 16},
}
