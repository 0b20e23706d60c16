import keras
import numpy as np
import pytest

from genzoo.errors import UserError
from genzoo.training import TrainConfig, train


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


def test_unknown_precision_is_user_error(tmp_path):
    with pytest.raises(UserError, match="--precision must be one of"):
        TrainConfig(model_dir=str(tmp_path), precision="float8").validate()
