"""Cached sampling for the PixelVAE decoder: one pixel's work per masked layer and step.

References:
  Ramachandran et al., *Fast Generation for Convolutional Autoregressive Models*, 2017
  (per-layer caches of the activations a new pixel needs).

The reference sampler (`VAE._naive_pixels`) runs the whole masked stack on the rows a pixel can
see, once per pixel. Here the stack of `networks.pixel_head` is written out at one position:
the decoder's 1x1 feature terms are computed for every pixel before the loop (they do not
depend on the image), the 7x7 mask-A convolution reads the embedded pixels drawn so far from
a cache, and each residual layer's 3x3 mask-B convolution reads the earlier positions of its
input from its own cache (`cached.CausalConv`: taps up to the centre in raster order).
A mask-A stack never lets a pixel's own value into its activations, so a position's layer
inputs are final as soon as they are computed; they are written at the start of the next step
(before any read, so XLA updates the caches in place, as `cached.run` does). The pixel values are
drawn by the likelihood with the reference sampler's per-pixel seeds, so both give the same
images for the same seed (up to float round-off deciding a draw; tested).
"""

from __future__ import annotations

import tensorflow as tf

from genzoo.models.autoregressive import cached
from genzoo.models.base import seed_pair
from genzoo.models.layers.masked_conv import MaskedConv2D


def _layers(pixel_decoder):
    """(value embedding, masked convs, feature 1x1 convs, activation, output 1x1 conv) of `pixel_head`."""
    masked = [layer for layer in pixel_decoder.layers if isinstance(layer, MaskedConv2D)]
    convs = [layer for layer in pixel_decoder.layers if type(layer).__name__ == "Conv2D"]
    activation = next(layer for layer in pixel_decoder.layers if type(layer).__name__ == "Activation")
    embed = pixel_decoder.layers[1]  # `image_input`'s colour embedding (palette) or rescaling (binary)
    if len(convs) != len(masked) + 1:
        raise ValueError(f"not a pixel_head: {len(masked)} masked and {len(convs)} 1x1 convolutions")
    return embed, masked, convs[:-1], activation, convs[-1]


def sample(model, features, seed, temperature) -> tf.Tensor:
    """Images `[B, *image_shape]` drawn pixel by pixel from `model`'s PixelVAE decoder given the
    decoder's feature map `features [B, H, W, F]`, pixel p with `seed_pair(seed, 1 + p)`.

    The noise is drawn first with TensorFlow's kernels (XLA's draw other numbers for the same
    seed), then XLA-compiled loops run the pixels, one per slice of the batch and CPU core
    (`cached.sharded`): XLA updates the caches in place.
    `features` carries both halves side by side with guidance (`VAE.pixel_features`).
    """
    batch, pixels = tf.shape(features)[0], model.spec.height * model.spec.width
    shape = tf.stack([batch, 1, 1, model.likelihood.num_params])
    uniform = tf.map_fn(lambda p: model.likelihood.uniform(shape, seed_pair(seed, 1 + p)), tf.range(pixels),
                        fn_output_signature=tf.float32)
    temperature = tf.cast(temperature, tf.float32)
    return cached.sharded(lambda part, noise, _: model.pixel_loop_compiled(part, noise, temperature, model.guidance),
                          tf.cast(features, tf.float32), uniform)


def loop(model, features, uniform, temperature):
    """The pixel loop given the features and every pixel's `uniform [H * W, B, 1, 1, P]` noise."""
    embed, masked, feature_convs, activation_layer, output = _layers(model.pixel_decoder)
    # The layer's function on float32 (called as a layer under mixed precision, it would cast to bfloat16).
    activation = activation_layer.activation
    spec, likelihood = model.spec, model.likelihood
    height, width = spec.height, spec.width
    if model.guided:  # both halves run as one batch [conditional; unconditional], drawing the same pixels
        features = tf.concat(tf.split(features, 2, axis=-1), axis=0)
    batch = tf.shape(features)[0]
    # Each layer's 1x1 term of the decoder's features, position-major `[H, W, B, filters]`.
    terms = [tf.transpose(tf.cast(conv(features), tf.float32), [1, 2, 0, 3]) for conv in feature_convs]
    convs = [cached.CausalConv(layer) for layer in masked]
    x_pad, a_pad, x_channels = convs[0].pad, (1, 1), masked[0].kernel.shape[2]
    out_kernel, out_bias = output.kernel[0, 0], output.bias
    value_shape = [batch, 1, 1] + list(spec.image_shape[2:])

    def embedded(value):
        flat = tf.reshape(value, [batch] + ([1] if spec.encoding != "palette" else []))
        out = tf.reshape(tf.cast(embed(flat), tf.float32), [batch, x_channels])
        out.set_shape([features.shape[0], x_channels])  # inside the loop `batch` is no constant: keep 1 image 1
        return out

    def body(step, x_cache, a_caches, done, values):
        # The previous pixel is written before any cache is read, so XLA updates the caches in
        # place (written after the reads, every cache is copied at every step; as `cached.run`).
        previous = tf.maximum(step - 1, 0)  # step 0 writes zeros in place of the pixel before it
        x_cache = cached.write(x_cache, previous // width, previous % width, done[0], x_pad)
        a_caches = [cached.write(cache, previous // width, previous % width, a, a_pad)
                    for cache, a in zip(a_caches, done[1])]
        row, col = step // width, step % width
        h = convs[0](tf.zeros([batch, x_channels]), x_cache, row, col) + terms[0][row, col]  # mask A: centre unused
        inputs = []
        for conv, cache, term in zip(convs[1:], a_caches, terms[1:]):
            a = activation(h)
            inputs.append(a)
            h = h + conv(a, cache, row, col) + term[row, col]
        params = tf.matmul(activation(h), out_kernel) + out_bias
        if model.guided:
            params = model.guide(*tf.split(params, 2, axis=0))
        value = likelihood.tempered_from(tf.reshape(params, tf.shape(uniform[step])), uniform[step], temperature)
        if model.guided:
            value = tf.concat([value, value], axis=0)
        values = values.write(step, tf.reshape(value, value_shape[:1] + value_shape[3:]))
        return step + 1, x_cache, a_caches, (embedded(value), inputs), values

    x_cache = cached.empty(batch, height, width, x_channels, x_pad)
    a_caches = [cached.empty(batch, height, width, layer.filters, a_pad) for layer in masked[:-1]]
    done = (tf.zeros([batch, x_channels]), [tf.zeros([batch, layer.filters]) for layer in masked[:-1]])
    values = tf.TensorArray(spec.image_dtype, size=height * width)
    _, _, _, _, values = tf.while_loop(lambda step, *_: step < height * width, body,
                                       (tf.constant(0), x_cache, a_caches, done, values))
    images = values.stack()  # [H * W, B, ...]
    images = tf.transpose(images, [1, 0] + list(range(2, len(images.shape))))
    if model.guided:
        batch = batch // 2
        images = images[:batch]
    return tf.reshape(images, tf.concat([[batch], spec.image_shape], 0))


def flops_per_image(model) -> float:
    """Matmul FLOPs (multiply-add = 2) of the cached loop per image, the decoder's feature map aside:
    each masked layer at its taps up to the centre, the 1x1 feature terms and the output layer, per pixel."""
    _, masked, feature_convs, _, output = _layers(model.pixel_decoder)
    per_pixel = cached.causal_flops(*masked) + sum(2 * conv.kernel.shape.num_elements()
                                                   for conv in [*feature_convs, output])
    return per_pixel * model.spec.height * model.spec.width
