import keras
import numpy as np
import pytest
import tensorflow as tf

from genzoo.data import DatasetSpec
from genzoo.errors import UserError
from genzoo.models import DCGAN, ConditionalGAN
from genzoo.training import TrainConfig, train
from tests.models.gan_bodies import POKEMON40, TINY, batch


# bfloat16 trains the default vae (the PixelVAE: masked convolutions and the cached sampler);
# float16 the plain decoder, as CPUs have no fast float16 convolutions (the PixelVAE took 34 s).
@pytest.mark.parametrize("precision, loss_scaling, pixel_layers",
                         [("mixed_bfloat16", False, None), ("mixed_float16", True, 0)])
def test_mixed_precision_trains_with_loss_scaling_only_for_float16(tmp_path, small_npz_dataset, precision, loss_scaling,
                                                                   pixel_layers):
    hparams = {"latent_dim": 4, "filters": 8, "hidden": 16, "pixel_layers": pixel_layers}
    config = TrainConfig(model="vae", dataset=small_npz_dataset, model_dir=str(tmp_path), epochs=2, batch_size=30,
                         num_samples=4, precision=precision, hparams={k: v for k, v in hparams.items() if v is not None})
    model, history = train(config, verbose=0)
    assert model.autoregressive == (pixel_layers is None)
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer) == loss_scaling
    assert model.encoder.layers[-1].compute_dtype == precision.split("_")[1]
    assert all(v.dtype == "float32" for v in model.trainable_variables)  # master weights stay float32
    assert np.isfinite(history[-1]["test_loss"]) and history[-1]["loss"] < history[0]["loss"]
    assert keras.config.dtype_policy().name == "float32"  # the global policy is restored


# Every discriminator term and penalty that adds to a loss, on each policy: the `pokemon40` dcgan's painted regions
# with the patch and silhouette discriminators, ADA, LeCam and the texture term; a cgan with its class heads, R1,
# spectral norm, DiffAugment, the rebuilding decoder and LeCam.
GAN_CASES = {
    "mixed_bfloat16": (DCGAN, POKEMON40, {"patch_weight": 1.0, "silhouette_weight": 0.3, "ada_target": 0.6,
                                          "lecam_weight": 0.3, "texture_weight": 1.0}),
    "mixed_float16": (ConditionalGAN, DatasetSpec("classes", 40, 40, "rgb", channels=3, num_classes=4),
                      {"loss": "hinge", "r1_gamma": 1.0, "spectral_norm": True, "augment": "color,translation,cutout",
                       "recon_weight": 1.0, "lecam_weight": 0.3, "aux_twin": True}),
}


@pytest.mark.parametrize("precision", sorted(GAN_CASES))
def test_a_gan_step_computes_in_the_policy_and_its_losses_in_float32(precision):
    """The networks' inner layers compute in the policy's dtype, the layers giving their outputs in float32, so every
    loss adds up in float32 (before this, any GAN under a mixed policy failed with a dtype error)."""
    cls, spec, hparams = GAN_CASES[precision]
    keras.config.set_dtype_policy(precision)
    try:
        model = cls(spec, **hparams, **TINY)
        model.compile_for_training(1e-3)
        data = {**batch(), "label": tf.constant([0, 1, 2, 3])}
        results = tf.function(model.train_step)(data)
        samples = model.sample(2, seed=1)
    finally:
        keras.config.set_dtype_policy("float32")
    compute = precision.split("_")[1]
    assert {layer.compute_dtype for layer in model.generator.layers[1:4]} == {compute}
    assert isinstance(model.d_optimizer, keras.optimizers.LossScaleOptimizer) == (compute == "float16")
    assert all(v.dtype == "float32" for v in model.trainable_variables)  # master weights stay float32
    for key in ("d_loss", "g_loss", "lecam"):
        assert results[key].dtype == tf.float32 and np.all(np.isfinite(results[key].numpy())), key
    assert samples.shape == (2, 40, 40, 3) and np.all((samples.numpy() >= 0) & (samples.numpy() <= 1))  # RGB in [0, 1]


def test_unknown_precision_is_user_error(tmp_path):
    with pytest.raises(UserError, match="--precision must be one of"):
        TrainConfig(model_dir=str(tmp_path), precision="float8").validate()
