"""The GAN family's networks: MLP (Goodfellow et al. 2014) and DCGAN (Radford et al. 2016)
generators and discriminators, with the conditional inputs and heads.

References:
  Goodfellow et al., *Generative Adversarial Nets*, 2014 (the MLP networks).
  Radford, Metz & Chintala, 2016 (DCGAN: strided convolutions, batch norm, ReLU in G,
    LeakyReLU(0.2) in D, tanh output).
  Mirza & Osindero, *Conditional Generative Adversarial Nets*, 2014 (labels to G).
  Miyato & Koyama, *cGANs with Projection Discriminator*, 2018 (labels to D, eq. 3).
  Odena, Olah & Shlens, 2017 (AC-GAN: a class head on D).
  Gulrajani et al., 2017 (layer norm in a gradient-penalised critic).
  Miyato et al., *Spectral Normalization for GANs*, 2018 (every layer of D spectrally
    normalised, no batch norm in D).
"""

from __future__ import annotations

import math

import keras
from keras import layers

from genzoo.models.gan.spectral_norm import SNConv2D, SNDense
from genzoo.models.layers.convolutional import num_downsamples

NORMS = ("batch", "layer", "none")  # the discriminator's normalisation after each strided convolution

LABEL_EMBEDDING = 32  # size of the label embedding concatenated to the generator's code
BACKGROUND_SHARE = 0.8  # a background region's starting probability (the 40x40 sprites: 82% background)
# The layers that give a network's outputs compute in float32 under a mixed precision policy (Keras' advice), so
# every loss, penalty and painted image is float32 whatever the policy; the layers before them stay in float16/bfloat16.
HEAD = {"dtype": "float32"}


class PaletteMix(layers.Layer):
    """Per-pixel logits over K palette colours -> RGB in [-1, 1]: softmax(logits) @ palette.

    The generator then paints with the dataset's own colours: a confident pixel is one
    palette colour exactly, an unsure one a mixture, which the discriminator can learn to
    tell from real pixel art (always exact colours), pushing the generator towards
    flat regions of single colours instead of mottled in-between shades.

    With `straight_through` the forward pass paints the most likely colour exactly (one-hot)
    and the gradient is the softmax's (Bengio et al. 2013): the discriminator never sees a
    mixture, only palette colours, as in the real sprites.
    """

    def __init__(self, palette, straight_through: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.palette = [[int(c) for c in colour] for colour in palette]
        self.straight_through = bool(straight_through)
        self._colours = keras.ops.convert_to_tensor(self.palette, "float32") / 127.5 - 1.0

    def call(self, logits):
        weights = keras.ops.softmax(logits, axis=-1)
        if self.straight_through:
            hard = keras.ops.one_hot(keras.ops.argmax(logits, axis=-1), len(self.palette), dtype=weights.dtype)
            weights = straight_through(weights, hard)
        return keras.ops.matmul(weights, self._colours)

    def get_config(self):
        return {**super().get_config(), "palette": self.palette, "straight_through": self.straight_through}


class RegionPaint(layers.Layer):
    """Per-pixel logits over K regions and K colours per image -> the image.

    Pixel art is flat regions of few colours. Here each image gets K colours (from the
    code, so a label can pick them) and each pixel a softmax over the K regions; the
    pixel's colour is the weighted sum. In training the softmax is kept (the gradient
    reaches every region); in inference each pixel takes its most likely region's colour,
    so a region is one colour exactly and the nearest-palette mapping cannot break it into
    speckle. With `straight_through` training paints the most likely region too, with the
    softmax's gradient (Bengio et al. 2013), so the discriminator sees what sampling draws.
    `gain` multiplies the logits: above 1 the softmax starts sharper and sharpens faster.
    With `annealed` the factor is a non-trainable weight, `annealed_gain` (starting at `gain`),
    that the model's training step sets from its step counter (`GAN.anneal_regions`).
    With `background` (a colour) region 0 is the background: that colour exactly, not one from the
    code (the colours input then holds K - 1), and its logit `background_logit` ahead of the
    others before the gain, so an untrained generator paints a background, not a blend of K colours.
    With `shading` s in (0, 1) a third input holds one logit per pixel, and the pixel's region
    colour moves s * tanh(logit) of the way towards white (above 0) or black (below 0), so a region
    can be shaded as pixel art shades a body. The shade is continuous and the same in training and
    inference (so the discriminator sees what sampling paints); the background keeps its colour exactly.
    With `shade_steps` n >= 1 the tanh is rounded to a multiple of 1 / n (straight-through in training), so a
    region has 2n + 1 tones, as pixel art shades a body in a few steps.
    With `outline` t in (0, 1] (needs `background`) a body pixel next to the background (4-neighbours; outside
    the image counts as background) moves t of the way towards black, after the shade: the sprites' dark
    outline, which 79% of their edge pixels have (value below 64 of 255) and the generator did not learn to
    draw (29%, docs/gan.md). Its share follows the region weights: soft in training, exact in sampling.
    With `inner_lines` u in (0, 1] a body pixel whose right or lower neighbour is body of another region moves
    u of the way towards black (a pixel on both an edge and a line moves the larger share): the dark
    lines that separate a sprite's parts, one pixel wide on the upper-left part's side (`region_lines`).
    `outline_grey` and `lines_grey` (0-255, 0 black) are the grey the outline and the lines move towards: the
    `pokemon40` sprites draw both in flat greys, not darker tones of the body (docs/gan.md, "Grey lines").
    With `despeckle` n >= 1 (needs `background`) a body pixel with fewer than two body 8-neighbours becomes
    background, n times over (`despeckle`): the sprites have no lone pixels (0.06% of their body pixels have
    one body neighbour), the generator's stray specks do; soft in training, exact in sampling, before the
    shade and the lines.
    With `one_body` (needs `background`; sampling only, an attribute the model may switch) body pixels outside
    each image's largest 8-connected body piece become background before the shade and the lines
    (`largest_body`): the sprites are one piece in 96-98% of images, the generator's samples in 31-73%.
    With `accents` A >= 1 two more inputs hold A logit maps per image and A colours: accent k paints its colour,
    flat, on the `accent_pixels` m body pixels (outside the outline) where its map is highest, after the shade and
    the lines (later accents over earlier ones), so details of a pixel or two (eyes, highlights) are neither shaded
    nor covered by the lines that a region that small would get, and every body has them. Exact in sampling;
    straight-through in training, the gradient that of m times a softmax of the map over the body (`top_pixels`).
    """

    def __init__(self, straight_through: bool = False, gain: float = 1.0, annealed: bool = False,
                 background=None, background_logit: float = 0.0, shading: float = 0.0,
                 outline: float = 0.0, inner_lines: float = 0.0, outline_grey: float = 0.0,
                 lines_grey: float = 0.0, despeckle: int = 0, one_body: bool = False, shade_steps: int = 0,
                 accents: int = 0, accent_pixels: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.accents, self.accent_pixels = int(accents), int(accent_pixels)
        self.despeckle, self.one_body, self.shade_steps = int(despeckle), bool(one_body), int(shade_steps)
        self.outline_grey, self.lines_grey = float(outline_grey), float(lines_grey)
        self.straight_through, self.gain, self.annealed = bool(straight_through), float(gain), bool(annealed)
        self.background = None if background is None else [float(c) for c in background]
        self.background_logit = float(background_logit)
        self.shading, self.outline, self.inner_lines = float(shading), float(outline), float(inner_lines)

    def build(self, input_shape):
        if self.annealed:
            # Set on every replica to the same value from the step counter, hence only_first_replica.
            self.annealed_gain = self.add_weight(shape=(), initializer=keras.initializers.Constant(self.gain),
                                                 trainable=False, name="annealed_gain",
                                                 aggregation="only_first_replica")

    def gained(self, logits, colours):
        """The layer's inputs -> (logits `[B, H, W, K]` with the background's lead and the gain,
        colours `[B, K, C]` with the background's first)."""
        regions = logits.shape[-1]
        if self.background is None:
            colours = keras.ops.reshape(colours, (-1, regions, colours.shape[-1] // regions))
        else:
            channels = len(self.background)
            colours = keras.ops.reshape(colours, (-1, regions - 1, channels))
            fixed = keras.ops.convert_to_tensor(self.background, colours.dtype)
            fixed = keras.ops.broadcast_to(fixed[None, None, :], (keras.ops.shape(colours)[0], 1, channels))
            colours = keras.ops.concatenate([fixed, colours], axis=1)
            logits = logits + keras.ops.convert_to_tensor(
                [self.background_logit] + [0.0] * (regions - 1), logits.dtype)
        gain = keras.ops.cast(self.annealed_gain, logits.dtype) if self.annealed else self.gain
        return logits * gain, colours

    def accented(self, image, logits, colours, keep, training):
        """The image with accent k's colour on the `accent_pixels` kept pixels (`keep` `[B, H, W, 1]`, above 0.5)
        where its map `logits[..., k]` is highest."""
        colours = keras.ops.reshape(colours, (-1, self.accents, colours.shape[-1] // self.accents))
        weights = top_pixels(logits, keep[..., 0] > 0.5, self.accent_pixels, training) * keep
        for k in range(self.accents):
            share = weights[..., k:k + 1]
            image = image * (1 - share) + share * colours[:, None, None, k]
        return image

    def call(self, inputs, training=None):
        logits, colours = self.gained(*inputs[:2])  # [B, H, W, K], [B, K, C]
        weights = keras.ops.softmax(logits, axis=-1)
        if not training or self.straight_through:
            hard = keras.ops.one_hot(keras.ops.argmax(logits, axis=-1), logits.shape[-1], dtype=weights.dtype)
            weights = straight_through(weights, hard) if training else hard
        for _ in range(self.despeckle):
            weights = despeckle(weights)
        if self.one_body and not training:
            weights = largest_body(weights)
        image = keras.ops.einsum("bhwk,bkc->bhwc", weights, colours)
        if self.shading:
            shade = keras.ops.tanh(inputs[2])
            # The background's share of a pixel is not shaded.
            share = self.shading * (1 - weights[..., :1]) if self.background is not None else self.shading
            if not self.shade_steps:
                image = _shaded(image, share * shade)
            else:
                stepped = _shaded(image, share * keras.ops.round(shade * self.shade_steps) / self.shade_steps)
                # Straight-through on the image, not the tone: a pixel rounded to no shade still gets the
                # continuous shade's gradient (relu's is zero at 0).
                image = stepped if not training else straight_through(_shaded(image, share * shade), stepped)
        edge = 0.0
        if self.outline:
            edge = self.outline * background_edge(weights[..., :1])
            image = image + edge * (_grey(self.outline_grey) - image)
        if self.inner_lines:
            body = weights[..., 1:] if self.background is not None else weights
            # What the line adds beyond the outline's share, so a pixel on both moves max(edge, line) of
            # the way (with both greys black: exactly the darker of the two).
            line = self.inner_lines * region_lines(body)
            line = keras.ops.relu(line - edge) / keras.ops.maximum(1 - edge, 1e-6)
            image = image + line * (_grey(self.lines_grey) - image)
        if self.accents:
            solid = 1 - weights[..., :1] if self.background is not None else keras.ops.ones_like(weights[..., :1])
            image = self.accented(image, *inputs[-2:], solid * (1 - edge), training)
        return image

    def get_config(self):
        return {**super().get_config(), "straight_through": self.straight_through, "gain": self.gain,
                "annealed": self.annealed, "background": self.background, "background_logit": self.background_logit,
                "shading": self.shading, "outline": self.outline, "inner_lines": self.inner_lines,
                "outline_grey": self.outline_grey, "lines_grey": self.lines_grey, "despeckle": self.despeckle,
                "one_body": self.one_body, "shade_steps": self.shade_steps, "accents": self.accents,
                "accent_pixels": self.accent_pixels}


def _shaded(image, tone):
    """Colours in [-1, 1] moved `tone` of the way towards white (above 0: x + t (1 - x)) or black (x + t (1 + x))."""
    return image + keras.ops.relu(tone) * (1 - image) - keras.ops.relu(-tone) * (1 + image)


def straight_through(soft, hard):
    """`hard`'s value with `soft`'s gradient (Bengio et al. 2013)."""
    return soft + keras.ops.stop_gradient(hard - soft)


def top_pixels(maps, allowed, count: int, training: bool):
    """Maps `[B, H, W, A]` and a mask `[B, H, W]` -> `[B, H, W, A]`: 1 on the `count` allowed pixels where each map
    is highest (fewer where fewer are allowed), else 0; in training straight-through to min(1, count x the map's
    softmax over the allowed pixels)."""
    height, width, maps_per_image = maps.shape[1], maps.shape[2], maps.shape[3]
    flat = keras.ops.reshape(keras.ops.transpose(maps, (0, 3, 1, 2)), (-1, maps_per_image, height * width))
    allowed = keras.ops.reshape(keras.ops.cast(allowed, maps.dtype), (-1, 1, height * width))
    flat = keras.ops.where(allowed > 0, flat, -1e9)
    _, indices = keras.ops.top_k(flat, count)
    hard = keras.ops.sum(keras.ops.one_hot(indices, height * width, dtype=maps.dtype), axis=-2) * allowed
    if training:
        soft = keras.ops.minimum(1.0, count * keras.ops.softmax(flat, axis=-1)) * allowed
        hard = straight_through(soft, hard)
    return keras.ops.transpose(keras.ops.reshape(hard, (-1, maps_per_image, height, width)), (0, 2, 3, 1))


def _grey(level: float) -> float:
    """A grey level in 0-255 -> the generator's [-1, 1] scale."""
    return level / 127.5 - 1.0


def background_edge(background):
    """Each pixel's background share `[B, H, W, 1]` -> its share of body next to the background:
    (1 - own share) * the largest share among its 4 neighbours, outside the image counting as background."""
    padded = keras.ops.pad(background, ((0, 0), (1, 1), (1, 1), (0, 0)), constant_values=1.0)
    near = keras.ops.maximum(keras.ops.maximum(padded[:, :-2, 1:-1], padded[:, 2:, 1:-1]),
                             keras.ops.maximum(padded[:, 1:-1, :-2], padded[:, 1:-1, 2:]))
    return (1 - background) * near


def despeckle(weights):
    """Region weights `[B, H, W, K]`, region 0 the background -> the same with each pixel's body weights scaled
    by clip(c - 1, 0, 1), c the sum of its 8 neighbours' body shares (outside the image: background), and the
    background taking the rest: with one-hot weights a body pixel with fewer than two body neighbours
    becomes background."""
    body = 1 - weights[..., :1]
    padded = keras.ops.pad(body, ((0, 0), (1, 1), (1, 1), (0, 0)))
    height, width = body.shape[1], body.shape[2]
    near = sum(padded[:, 1 + dy:1 + dy + height, 1 + dx:1 + dx + width]
               for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx)
    keep = keras.ops.clip(near - 1, 0, 1)
    return keras.ops.concatenate([1 - keep * body, weights[..., 1:] * keep], axis=-1)


def largest_body(weights):
    """One-hot region weights `[B, H, W, K]`, region 0 the background -> the same with every body pixel outside
    the image's largest 8-connected body piece moved to the background (of pieces of equal size, the one whose
    last pixel in raster order comes last is kept). Exact for one-hot weights; sampling only (no gradient)."""
    body = 1 - weights[..., 0]
    height, width = body.shape[1], body.shape[2]
    # Each piece takes the largest raster index among its pixels: a path of length L settles in L rounds.
    labels = body * keras.ops.reshape(keras.ops.arange(1, height * width + 1, dtype=body.dtype), (1, height, width))

    def grow(labels, _):
        grown = keras.ops.max_pool(labels[..., None], 3, strides=1, padding="same")[..., 0] * body
        return grown, keras.ops.any(grown != labels)

    labels, _ = keras.ops.while_loop(lambda labels, changed: changed, grow, (labels, True))
    # Piece sizes: one segment per (image, label); label 0 (background) counts nothing.
    batch = keras.ops.shape(body)[0]
    ids = keras.ops.cast(labels, "int32") + keras.ops.arange(batch)[:, None, None] * (height * width + 1)
    sizes = keras.ops.segment_sum(keras.ops.reshape(body, (-1,)), keras.ops.reshape(ids, (-1,)),
                                  num_segments=batch * (height * width + 1))
    size = keras.ops.take(sizes, ids) * body
    largest = keras.ops.max(size, axis=(1, 2), keepdims=True)
    winner = keras.ops.max(keras.ops.where(size == largest, labels, 0), axis=(1, 2), keepdims=True)
    keep = keras.ops.cast(keras.ops.logical_and(labels == winner, body > 0), weights.dtype)[..., None]
    return keras.ops.concatenate([1 - keep * body[..., None], weights[..., 1:] * keep], axis=-1)


def region_lines(body):
    """Each pixel's body-region weights `[B, H, W, K]` -> `[B, H, W, 1]`: the chance that it and its right
    (or lower) neighbour are body of two different regions, the larger of the two; 0 at the far edges.
    For weights p and q the chance is sum(p) sum(q) - <p, q> (independent picks; exact when one-hot)."""
    def apart(p, q):
        together = keras.ops.sum(p * q, axis=-1, keepdims=True)
        return keras.ops.sum(p, axis=-1, keepdims=True) * keras.ops.sum(q, axis=-1, keepdims=True) - together

    right = keras.ops.pad(apart(body[:, :, :-1], body[:, :, 1:]), ((0, 0), (0, 0), (0, 1), (0, 0)))
    down = keras.ops.pad(apart(body[:, :-1], body[:, 1:]), ((0, 0), (0, 1), (0, 0), (0, 0)))
    return keras.ops.maximum(right, down)


# === Networks ===
def _code_input(latent_dim: int, num_classes: int):
    """Code z (+ int label, embedded) -> the generator's first features (Mirza & Osindero 2014)."""
    code = keras.Input((latent_dim,), name="code")
    if not num_classes:
        return [code], code
    label = keras.Input((), dtype="int32", name="label")
    embedded = layers.Embedding(num_classes, LABEL_EMBEDDING, name="label_embedding")(label)
    return [code, label], layers.Concatenate()([code, embedded])


def _dense(spectral_norm: bool):
    return SNDense if spectral_norm else layers.Dense


def conv_class(spectral_norm: bool):
    """The discriminators' convolution: spectrally normalised or plain."""
    return SNConv2D if spectral_norm else layers.Conv2D


def _projection_head(inputs: list, features, num_classes: int, name: str, classifier: bool = False,
                     spectral_norm: bool = False, twin: bool = False, projection: bool = True):
    """Features phi(x) -> psi(phi(x)) + <embed(y), phi(x)> (Miyato & Koyama 2018, eq. 3),
    and with `classifier` also class logits from phi(x) (Odena et al. 2017): `[score, logits]`.
    With `twin` the logits are `[B, 2 * classes]`: the class head's, then its twin's (TAC-GAN,
    Gong et al. 2019). With `spectral_norm` the dense heads are normalised (the class embedding is not).
    Without `projection` the score is psi(phi(x)) alone: the label input stays (the model's signature
    does not change) and only the class head reads it."""
    dense = _dense(spectral_norm)
    score = dense(1, name="score", **HEAD)(features)
    if num_classes:
        label = keras.Input((), dtype="int32", name="label")
        inputs = [*inputs, label]
    if num_classes and projection:
        embedded = layers.Embedding(num_classes, features.shape[-1], name="class_projection", **HEAD)(label)
        score = layers.Add(**HEAD)([score, layers.Dot(axes=-1, **HEAD)([embedded, features])])
    score = layers.Reshape((), **HEAD)(score)
    if classifier:
        logits = dense(num_classes * (2 if twin else 1), name="class_logits", **HEAD)(features)
        return keras.Model(inputs, [score, logits], name=name)
    return keras.Model(inputs, score, name=name)


def mlp_generator(latent_dim: int, shape: tuple, hidden: int, num_classes: int = 0, name="generator"):
    """Goodfellow et al. 2014: fully connected ReLU layers, tanh output in [-1, 1]."""
    inputs, x = _code_input(latent_dim, num_classes)
    x = layers.Dense(hidden, activation="relu")(x)
    x = layers.Dense(hidden, activation="relu")(x)
    x = layers.Dense(math.prod(shape), activation="tanh", **HEAD)(x)
    return keras.Model(inputs, layers.Reshape(shape, **HEAD)(x), name=name)


def mlp_discriminator(shape: tuple, hidden: int, num_classes: int = 0, name="discriminator",
                      classifier: bool = False, spectral_norm: bool = False, twin: bool = False,
                      projection: bool = True):
    """Two LeakyReLU layers (the paper's maxout units do the same job) and a linear score."""
    dense = _dense(spectral_norm)
    image = keras.Input(shape, name="image")
    x = layers.Flatten()(image)
    x = dense(hidden)(x)
    x = layers.LeakyReLU(0.2)(x)
    x = dense(hidden)(x)
    x = layers.LeakyReLU(0.2)(x)
    return _projection_head([image], x, num_classes, name, classifier, spectral_norm, twin, projection)


def dcgan_generator(latent_dim: int, shape: tuple, filters: int, num_classes: int = 0, name="generator",
                    palette=None, straight_through: bool = False, regions: int = 0,
                    region_gain: float = 1.0, upsample: str = "transpose", region_annealed: bool = False,
                    region_background=None, shading: float = 0.0, outline: float = 0.0,
                    inner_lines: float = 0.0, outline_grey: float = 0.0, lines_grey: float = 0.0,
                    despeckle: int = 0, shade_steps: int = 0, accents: int = 0,
                    accent_pixels: int = 2, region_smooth: int = 0, region_smooth_parts: bool = True):
    """Radford et al. 2016: project and reshape, then fractionally strided convolutions
    with batch norm and ReLU, doubling the size each time, and a tanh output (with
    `palette`, K colours: K logits per pixel mixed by `PaletteMix` instead; with `regions`,
    K per-image colours from the code painted by `RegionPaint`). `upsample="nearest"` doubles
    by nearest-neighbour resizing and a 3x3 convolution instead (Odena et al. 2016: no
    checkerboard from uneven kernel overlap). `region_annealed`: the region gain is a weight that
    the model anneals in training (`RegionPaint`). `region_background`: a colour; region 0 paints it
    and starts with probability 0.8 at every pixel (`RegionPaint`'s `background`). `shading`: the
    largest share of the way towards white or black a pixel's shade moves its region's colour (`RegionPaint`).
    `outline`: the share of the way towards black that a body pixel next to the background moves (`RegionPaint`);
    `inner_lines` the same for a body pixel next to another body region; `outline_grey`, `lines_grey`: towards
    that grey (0-255) instead. `despeckle`: passes that turn body pixels with fewer than two body neighbours
    into background (`RegionPaint`). `shade_steps`: the shade's steps on each side of the colour (`RegionPaint`).
    `accents`: flat accent colours per image, each painted on `accent_pixels` body pixels (`RegionPaint`).
    `region_smooth` s: the region logits and the shade averaged over s x s blocks and resized back bilinearly
    (`smoothed`); with `region_smooth_parts` False only the background's logit, the body's level and the shade
    (`BodyLevel`, `SmoothEdge`)."""
    height, width, channels = shape
    n = num_downsamples(height, width)
    h, w, top = height // 2**n, width // 2**n, filters * 2**n
    inputs, code = _code_input(latent_dim, num_classes)
    x = layers.Dense(h * w * top, use_bias=False)(code)  # batch norm's offset replaces the bias
    x = layers.BatchNormalization(synchronized=True)(x)
    x = layers.ReLU()(layers.Reshape((h, w, top))(x))
    for i in reversed(range(n)):
        if upsample == "nearest":
            x = layers.Conv2D(filters * 2**i, 3, padding="same", use_bias=False)(layers.UpSampling2D(2)(x))
        else:
            x = layers.Conv2DTranspose(filters * 2**i, 4, strides=2, padding="same", use_bias=False)(x)
        x = layers.ReLU()(layers.BatchNormalization(synchronized=True)(x))
    if regions:
        free = regions - (region_background is not None)  # colours drawn from the code
        colours = layers.Dense(free * channels, activation="tanh", name="region_colours", **HEAD)(code)
        # The background's lead b: probability BACKGROUND_SHARE at zero logits, e^b / (e^b + K - 1).
        lead = math.log(BACKGROUND_SHARE / (1 - BACKGROUND_SHARE) * (regions - 1)) if free < regions else 0.0
        paint = RegionPaint(straight_through, region_gain, region_annealed, background=region_background,
                            background_logit=lead, shading=shading, outline=outline,
                            inner_lines=inner_lines, outline_grey=outline_grey, lines_grey=lines_grey,
                            despeckle=despeckle, shade_steps=shade_steps, accents=accents,
                            accent_pixels=accent_pixels,
                            name="region_paint", **HEAD)
        shade = [smoothed(layers.Conv2D(1, 3, padding="same", name="shade", **HEAD)(x), region_smooth)
                 ] if shading else []
        accent = [layers.Conv2D(accents, 3, padding="same", name="accent_logits", **HEAD)(x),
                  layers.Dense(accents * channels, activation="tanh", name="accent_colours", **HEAD)(code)
                  ] if accents else []
        raw = layers.Conv2D(regions, 3, padding="same", **HEAD)(x)
        if region_smooth > 1 and not region_smooth_parts:
            levels = smoothed(BodyLevel(name="body_level", **HEAD)(raw), region_smooth)
            logits = SmoothEdge(name="smooth_edge", **HEAD)([raw, levels])
        else:
            logits = smoothed(raw, region_smooth)
        x = paint([logits, colours, *shade, *accent])
    elif palette:
        logits = layers.Conv2D(len(palette), 3, padding="same", **HEAD)(x)
        x = PaletteMix(palette, straight_through, name="palette_mix", **HEAD)(logits)
    else:
        x = layers.Conv2D(channels, 3, padding="same", activation="tanh", **HEAD)(x)
    return keras.Model(inputs, x, name=name)


def smoothed(maps, scale: int):
    """Maps `[B, H, W, C]` averaged over `scale` x `scale` blocks and resized back bilinearly: smooth fields whose
    level sets (the regions' borders after the argmax) are curves, not pixel steps. 0 or 1: the maps."""
    if scale <= 1:
        return maps
    pooled = layers.AveragePooling2D(scale, **HEAD)(maps)
    return layers.UpSampling2D(scale, interpolation="bilinear", **HEAD)(pooled)


class BodyLevel(layers.Layer):
    """Region logits `[B, H, W, K]` (region 0 the background) -> `[B, H, W, 2]`: the background's logit and the body's
    level, the logsumexp of the K - 1 body regions' logits (`SmoothEdge` smooths these two alone)."""

    def call(self, logits):
        return keras.ops.concatenate([logits[..., :1], keras.ops.logsumexp(logits[..., 1:], axis=-1, keepdims=True)],
                                     -1)


class SmoothEdge(layers.Layer):
    """[raw logits `[B, H, W, K]`, smoothed `BodyLevel` of them `[B, H, W, 2]`] -> K logits: the background's logit
    and the body's level from the smooth fields, each body region's share of the body from the raw logits (their
    log-softmax, added to the level). A pixel's background share is then sigmoid(background - level) of the smooth
    fields alone (before the lead and gain), so the body's edge follows smooth curves; the argmax's edge moves with
    the best region's sureness by at most log(K - 1), and the borders between the parts inside stay pixel-fine.
    Raw logits of a constant pass unchanged, so an untrained generator starts as without it."""

    def call(self, inputs):
        raw, levels = inputs
        parts = raw[..., 1:]
        shares = parts - keras.ops.logsumexp(parts, axis=-1, keepdims=True)
        return keras.ops.concatenate([levels[..., :1], levels[..., 1:] + shares], -1)


def discriminator_features(image, filters: int, halvings: int, norm: str, spectral_norm: bool):
    """The DCGAN discriminator's body: a 3x3 convolution, then `halvings` 4x4 stride-2 convolutions doubling
    the channels, normalised (`norm`) after each, all with LeakyReLU(0.2)."""
    conv = conv_class(spectral_norm)
    x = layers.LeakyReLU(0.2)(conv(filters, 3, padding="same")(image))
    for i in range(halvings):
        # A bias only where no normalisation's offset replaces it.
        x = conv(filters * 2 ** (i + 1), 4, strides=2, padding="same", use_bias=norm == "none")(x)
        if norm == "batch":
            x = layers.BatchNormalization(synchronized=True)(x)
        elif norm == "layer":
            x = layers.LayerNormalization()(x)
        x = layers.LeakyReLU(0.2)(x)
    return x


def dcgan_discriminator(shape: tuple, filters: int, num_classes: int = 0, norm: str = "batch",
                        name="discriminator", classifier: bool = False, spectral_norm: bool = False,
                        twin: bool = False, projection: bool = True):
    """Radford et al. 2016: strided convolutions with LeakyReLU(0.2), normalised after
    the first; `norm="layer"` for a gradient-penalised critic (Gulrajani et al. 2017),
    `"none"` with `spectral_norm` (Miyato et al. 2018: every kernel divided by its largest
    singular value, no batch norm)."""
    image = keras.Input(shape, name="image")
    x = discriminator_features(image, filters, num_downsamples(*shape[:2]), norm, spectral_norm)
    return _projection_head([image], layers.Flatten()(x), num_classes, name, classifier, spectral_norm, twin,
                            projection)
