"""Generative adversarial networks: the MLP GAN, DCGAN and a conditional DCGAN.

The game (Goodfellow et al. 2014, algorithm 1): with the generator fixed, take
`d_steps` discriminator steps on real and generated batches; then, with the
discriminator fixed, take one generator step so that its samples are called
real. Two Adam optimizers, each touching only its own network's variables.
Losses are the pure functions of `genzoo.gan_losses`, picked by name.

References:
  Goodfellow et al., *Generative Adversarial Nets*, 2014 (the game; the MLP GAN).
  Radford, Metz & Chintala, *Unsupervised Representation Learning with Deep
    Convolutional GANs*, 2016 (DCGAN: strided convolutions, batch norm, ReLU in G,
    LeakyReLU(0.2) in D, tanh output, Adam with beta_1 = 0.5; code-space arithmetic).
  Mirza & Osindero, *Conditional Generative Adversarial Nets*, 2014 (labels to G).
  Miyato & Koyama, *cGANs with Projection Discriminator*, 2018 (labels to D, eq. 3).
  Odena, Olah & Shlens, *Conditional Image Synthesis with Auxiliary Classifier GANs*,
    2017 (AC-GAN: a class head on D, its log-likelihood in both players' losses).
  Gulrajani et al., *Improved Training of Wasserstein GANs*, 2017 (no batch norm in
    a gradient-penalised critic; layer norm instead).
  Yazıcı et al., *The Unusual Effectiveness of Averaging in GAN Training*, 2019
    (an exponential moving average of the generator's weights for sampling).
  White, *Sampling Generative Networks*, 2016 (spherical interpolation of codes).
  Zhao et al., *Differentiable Augmentation for Data-Efficient GAN Training*, 2020
    (DiffAugment: the same differentiable augmentation of real and generated images
    in both players' steps; `genzoo.models.gan.augment`).
  Miyato et al., *Spectral Normalization for GANs*, 2018 (`genzoo.models.gan.spectral_norm`).
  Mescheder, Geiger & Nowozin, *Which Training Methods for GANs do actually Converge?*,
    2018 (the R1 penalty on real images).
  Liu et al., *Towards Faster and Stabilized GAN Training for High-fidelity Few-shot Image
    Synthesis*, 2021 (FastGAN: a discriminator that also rebuilds real images; `recon`).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from genzoo import gan_losses
from genzoo.data import encodings
from genzoo.distribute import global_gradient_norm, global_mean, replica_slice, replica_sum
from genzoo.errors import UserError
from genzoo.models import capabilities
from genzoo.models.base import (
    GenerativeModel,
    dense_gradients,
    make_optimizer,
    require_positive,
    seed_pair,
)
from genzoo.models.code_space import CodeSpaceWalks
from genzoo.models.gan import augment as diffaug
from genzoo.models.gan import lecam, patches, recon, silhouette
from genzoo.models.gan.networks import (
    NORMS,
    dcgan_discriminator,
    dcgan_generator,
    mlp_discriminator,
    mlp_generator,
)
from genzoo.models.gan.parts import parts_loss
from genzoo.models.gan.texture import texture_loss
from genzoo.models.registry import register

# What a hyper-parameter left as None means: the dataset's entry in RECIPES, else the plain
# DCGAN game. The chosen values go into `get_config`,
# so a saved run rebuilds the same networks whatever these tables say later.
PLAIN_RECIPE = {"loss": "non_saturating", "augment": "none", "spectral_norm": False, "r1_gamma": 0.0, "regions": 0,
                "filters": 32, "palette_output": "none", "aux_fake": True, "region_gain_end": 0.0,
                "region_anneal_steps": 0, "region_background": False, "aux_twin": False, "projection": True,
                "shading": 0.0, "texture_weight": 0.0, "outline": 0.0, "inner_lines": 0.0, "parts": 0,
                "outline_grey": 0.0, "lines_grey": 0.0, "despeckle": 0, "one_body": False,
                "shade_steps": 0, "ada_target": 0.0, "silhouette_weight": 0.0}
# The data-efficient recipe of the literature (DiffAugment, spectral norm, R1, hinge). Measured on
# pokemon it lost to the plain game at every budget tried (docs/gan.md), with and without regions.
DATA_EFFICIENT_RECIPE = {"loss": "hinge", "augment": "color,translation,cutout", "spectral_norm": True,
                         "r1_gamma": 0.1}
# Small data (712 training sprites). pokemon: the plain game with each sprite painted in 16 flat
# regions (`regions`, networks.RegionPaint), which took the C2ST against held-out sprites from 0.988
# to 0.80 at 3300 steps. On pokemon40 regions alone gave per-pixel noise (C2ST 1.0 at 2200 steps, the
# discriminator winning from the first epochs; below). docs/gan.md has the runs. The
# region gain annealed from 1 to 8 over 2310 generator steps (70% of 300 epochs) took pokemon's C2ST
# at 3300 steps from 0.798 and 0.846 (two training seeds) to 0.746 and 0.746 (and 0.756-0.765 in
# three runs of an ad-hoc per-epoch schedule), and with 32 regions to 0.688 and 0.696 (32 regions with
# a constant gain: 0.790). Why is open: the trained softmax ends about as sharp as with a constant
# gain (the generator shrinks its logits), but it paints more regions per sprite.
SMALL_DATA_RECIPE = {**PLAIN_RECIPE, "regions": 32, "region_gain_end": 8.0, "region_anneal_steps": 2310}
# pokemon40: the same with region 0 the white background (`region_background`). Without it the 40x40
# region maps had not organised after 2,200 steps (the discriminator won from the first epochs on grey
# blends); with it they did within ~700, and the C2ST at 3,300 steps was 0.777, 0.723 and 0.763 (three
# training seeds; the plain game: 0.963).
# Since 2026-12-06 samples keep one body per image (`one_body`, sampling only): the presets' samples were
# one piece in 53% and 73% of images (the sprites 96-98%), with it 100% and 99%; C2ST 0.644 and 0.715
# against 0.652 and 0.723 without, unchanged within its spread (docs/gan.md, "One body").
SPRITES40_RECIPE = {**SMALL_DATA_RECIPE, "region_background": True, "one_body": True}
# The dcgan on pokemon40 since 2026-12-06: the background recipe with a shade per pixel, the parts term and the
# outline and inner lines in the sprites' flat greys (docs/gan.md, "Grey lines"): the best checkpoints of three
# training seeds scored 0.737, 0.700 and 0.727 (last 0.746, 0.725, 0.685), against 0.710, -, 0.781 (last -,
# 0.723, 0.763) for SPRITES40_RECIPE alone, and draw bodies of two to five colour parts instead of one hue.
SPRITES40_PARTS_RECIPE = {**SPRITES40_RECIPE, "shading": 0.5, "parts": 3, "inner_lines": 1.0, "lines_grey": 82.0,
                          "outline": 1.0, "outline_grey": 49.0}
RECIPES = {"pokemon": SMALL_DATA_RECIPE, "pokemon40": SPRITES40_PARTS_RECIPE}
# cgan on shapes: the plain game drew the requested shape 0.188 of the time (the discriminator won
# within ~700 steps); wider networks with the data-efficient recipe, palette logits and a class head
# trained on real images only drew it 0.935 at 2880 steps (40 epochs; docs/gan.md, class control).
CONDITIONAL_SHAPES_RECIPE = {**PLAIN_RECIPE, **DATA_EFFICIENT_RECIPE, "filters": 64, "palette_output": "mix",
                             "aux_fake": False}
# cgan on pokemon40: SPRITES40_RECIPE with the class head's twin (TAC-GAN) and no projection term. With
# the projection, speckled bodies without outlines whatever the class head (C2ST 0.975-1.000 at 3300
# steps; the AC-GAN head alone also drew one body per type); without it, the dcgan's outlined bodies
# and 0.908 (one training seed; the plain game's regions=16 preset: 0.969). docs/gan.md, "The label
# in the discriminator".
# Since 2026-12-05 also a shade per pixel and a dark outline around each body: the outline paints the
# near-black ring that 79% of the sprites' edge pixels have (the generator drew 29%). With the texture term
# (texture_weight=10) as well the best checkpoints scored 0.733, 0.765 and 0.746 (three training seeds;
# without the outline 0.806, 0.815 and, one seed broken, 0.996; docs/gan.md, "An outline"); without it
# 0.652, 0.688 and 0.650 (the same seeds; "One ingredient at a time"), so the term left the default on
# 2026-12-06.
SPRITES40_CONDITIONAL_RECIPE = {**SPRITES40_RECIPE, "aux_twin": True, "projection": False, "shading": 0.5,
                                "outline": 0.8}
CONDITIONAL_RECIPES = {**RECIPES, "pokemon40": SPRITES40_CONDITIONAL_RECIPE, "shapes": CONDITIONAL_SHAPES_RECIPE}
PALETTE_OUTPUTS = ("none", "mix", "straight_through")  # the DCGAN generator's output (networks.PaletteMix)
UPSAMPLES = ("transpose", "nearest")  # how the DCGAN generator doubles its size


def _is_number(value) -> bool:
    """An int or float hyper-parameter, not a bool (True would pass as 1) nor a string from a bad flag."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _share(name: str, value, recipe_value, needs: str, needed, closed: bool = True, top: float = 1.0,
           kind: str = "a number", zero: str = "off") -> float:
    """A hyper-parameter in [0, top] (`closed`; else [0, top)), 0 `zero`, that needs another one (`needs`,
    whose value is `needed`); None: the recipe's value where `needed` holds, else 0."""
    if value is None:
        value = recipe_value if needed else 0.0
    in_range = _is_number(value) and (0 <= value <= top if closed else 0 <= value < top)
    if not in_range or (value and not needed):
        raise UserError(f"{name} must be {kind} in [0, {top:g}{']' if closed else ')'} (0: {zero}) and needs {needs}, "
                        f"got {value!r} with {needs.split()[0]}={needed!r}")
    return float(value)


def _switch(name: str, value, recipe_value, needs: str, needed) -> bool:
    """A true/false hyper-parameter that needs another (`needs`, whose value is `needed`); None: the recipe's
    value where `needed` holds, else False."""
    if value is None:
        value = recipe_value if needed else False
    if not isinstance(value, bool) or (value and not needed):
        raise UserError(f"{name} must be true or false and needs {needs}, got {value!r} with "
                        f"{needs.split()[0]}={needed!r}")
    return value


def _count(name: str, value, recipe_value, needs: str, needed, zero: str = "off") -> int:
    """An integer >= 0 (0 `zero`) that needs another hyper-parameter (`_share`)."""
    if value is None:
        value = recipe_value if needed else 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or (value and not needed):
        raise UserError(f"{name} must be an integer >= 0 (0: {zero}) and needs {needs}, got {value!r} with "
                        f"{needs.split()[0]}={needed!r}")
    return value


def _grey_level(name: str, value, recipe_value, needs: str, needed) -> float:
    """A grey level in [0, 255] (0: black) for a line that needs another hyper-parameter (`_share`)."""
    return _share(name, value, recipe_value, needs, needed, top=255, kind="a grey level", zero="black")


def default_recipe(spec, recipes: dict = RECIPES) -> dict:
    """The hyper-parameters a dataset gets when they are left as None (`recipes`: the model's table)."""
    return recipes.get(spec.name, PLAIN_RECIPE)


def saved_recipe(config: dict) -> dict:
    """The recipe hyper-parameters a saved config was trained with. A key it lacks was saved before
    that hyper-parameter existed, when the plain game's value was the only one."""
    return {key: config.get(key, value) for key, value in PLAIN_RECIPE.items()}


# === Model ===
@register("gan")
@keras.saving.register_keras_serializable("genzoo")
class GAN(GenerativeModel, CodeSpaceWalks, capabilities.OneBody):
    """The adversarial game with fully connected networks (Goodfellow et al. 2014).

    Images are played in RGB scaled to [-1, 1] (palette data through its colours,
    binary data as one channel); `sample` maps back to the spec's encoding (palette
    indices by nearest colour). Any spec works, including a `1 x 2` "image" of 2-D
    points, which is how the tests play the lecture's 8-Gaussians toy.

    Args:
      spec: `DatasetSpec` of the encoded images.
      latent_dim: size of the code z ~ N(0, I).
      filters: DCGAN: channels of the first convolution (doubling at each halving). None: the
        dataset's recipe (32; 64 for `cgan` on `shapes`).
      hidden: MLP GAN: width of the hidden layers.
      loss: one of `genzoo.gan_losses.LOSSES`: minimax, non_saturating, wgan_gp,
        hinge, least_squares. None: the dataset's recipe (`default_recipe`).
      augment: DiffAugment policy applied to real and generated images in both steps:
        names from `augment.POLICIES` joined by `,` or `+` (`color+translation+cutout`
        through `--hparams`), or `none`. None: the dataset's recipe.
      spectral_norm: divide each discriminator kernel by its largest singular value
        (Miyato et al. 2018). None: the dataset's recipe.
      r1_gamma: weight gamma of the R1 penalty gamma/2 ||grad D(x)||^2 on (augmented)
        real images (Mescheder et al. 2018); 0 switches it off. None: the dataset's recipe.
      d_norm: the DCGAN discriminator's normalisation, `batch`, `layer` or `none`.
        None: `layer` for wgan_gp, `none` with spectral norm, else `batch`.
      d_steps: discriminator steps per generator step (k in algorithm 1).
      gp_weight: lambda of the gradient penalty (wgan_gp only; 10 in the paper).
      ema_decay: decay of the moving average of the generator's weights used by
        `generate`/`sample` (0: the current weights).
      beta_1, beta_2: Adam's moment decays for both networks (DCGAN: 0.5, 0.999).
      palette_output: DCGAN on palette data: `mix`, the generator outputs logits over the
        palette's colours per pixel, mixed into RGB (`networks.PaletteMix`), instead of
        free RGB through tanh; `straight_through`, the most likely colour exactly with the
        mixture's gradient; `none`: tanh RGB. None: the dataset's recipe where it can apply (a
        DCGAN on palette data without `regions`): `mix` for `cgan` on `shapes`, else `none`.
      regions: DCGAN: K >= 2 paints each image with K colours of its own (tanh RGB from the
        code) and a softmax over the K regions per pixel (`networks.RegionPaint`: the mixture
        in training, each pixel's most likely region in inference), so a sample's regions are
        flat, as in pixel art; 0 off. Palette or RGB data. None: the dataset's recipe (32 on
        `pokemon`, and on `pokemon40` for `dcgan`, unless `palette_output` is set; else 0).
      hard_regions: with `regions`, training paints each pixel's most likely region too, with
        the softmax's gradient (straight-through), so the discriminator sees what `sample` draws.
      region_gain: with `regions`, a factor on the region logits (1: none); above 1 the region
        softmax starts sharper and Adam's steps move it faster.
      region_gain_end, region_anneal_steps: with `regions`, the factor grows linearly from
        `region_gain` to `region_gain_end` over the first `region_anneal_steps` generator steps
        and stays there (meant to bring the softmax mixture that training paints towards the one
        colour per pixel that `sample` paints; docs/gan.md has what it measurably did). 0: a
        constant factor. None: the dataset's recipe (8 and 2310 where the recipe has regions, else 0).
      region_background: with `regions`, region 0 is the dataset's background colour exactly
        (palette index 0's colour; white for RGB data) and starts with probability 0.8 at every
        pixel (`networks.RegionPaint`), so the first pictures are a background with faint regions on
        it, not blends of every region's colour. None: the dataset's recipe (True for `dcgan` on
        `pokemon40`, else False).
      shading: with `regions`, s in (0, 1): each pixel's region colour moves s * tanh(a logit of the
        generator's) of the way towards white or black (`networks.RegionPaint`), so a region can be
        shaded as pixel art shades a body; continuous, the same in training and sampling; the
        background region stays exact. 0 off. None: the dataset's recipe (0.5 for `cgan` on `pokemon40`,
        else 0).
      shade_steps: with `shading`, n >= 1 rounds each pixel's tanh to a multiple of 1 / n, so a region has
        2n + 1 tones (n = 1: shadow, colour, light) as pixel art shades, not a continuous ramp
        (`networks.RegionPaint`; straight-through in training, so the discriminator sees the steps).
        0: continuous. None: the dataset's recipe (0).
      outline: with `region_background`, t in (0, 1]: each body pixel next to the background moves t of
        the way towards black (`networks.RegionPaint`), the dark outline that pixel art draws around a
        sprite and the generator did not learn to; the same in training (soft) and sampling. 0 off.
        None: the dataset's recipe (0.8 for `cgan` on `pokemon40`, else 0).
      inner_lines: with `regions`, u in (0, 1]: each body pixel whose right or lower neighbour is body of
        another region moves u of the way towards black (`networks.RegionPaint`), the dark lines between a
        sprite's parts; soft in training, exact in sampling. 0 off. None: the dataset's recipe (0).
      outline_grey, lines_grey: the grey level (0-255) that `outline` and `inner_lines` move a pixel
        towards instead of black (0): the `pokemon40` sprites draw their outline in a flat grey near 49
        and the lines inside a body near 82, whatever the body's colour. None: the dataset's recipe (0).
      despeckle: with `region_background`, n >= 0 passes that turn each body pixel with fewer than two body
        8-neighbours into background (`networks.despeckle`): the sprites have no stray specks, the generator
        paints them; soft in training, exact in sampling. 0 off. None: the dataset's recipe (0).
      one_body: with `region_background`, samples keep each image's largest 8-connected body piece only
        (`networks.largest_body`); the discriminator never sees it (sampling only), and `set_one_body` (the
        tools' `--one_body`) switches it on a trained model. False: every piece. None: the dataset's recipe (True
        on `pokemon40`, else False; docs/gan.md, "One body").
      texture_weight: weight of the texture term in the generator's loss (`texture.texture_loss`:
        the L1 distance between the histograms of neighbour steps of the generated and the real
        batch, measured before augmentation), which asks for the sprites' shading steps that the
        adversarial loss alone left flat. 0 off (the gap is still reported as `texture_gap`). None: the
        dataset's recipe (0; 10 for `cgan` on `pokemon40` from 2026-12-05 to 2026-12-06).
      parts: with `regions`, P >= 2 adds the parts term to the generator's loss (`parts.parts_loss`):
        `parts_weight` * (max(0, log P - I) + a floor on the usage of the image's P most used body regions)
        per image, I the mutual information between a 4x4 block of the body and its body region, so that
        each body is painted in at least P regions that fill blocks (parts of other colours, with
        `inner_lines` lines between them) instead of one shaded region. 0 off. None: the dataset's recipe (0).
      parts_weight: the parts term's weight (1: the adversarial loss's scale).
      recon_weight: DCGAN discriminators: weight of a self-supervised term in the discriminator's loss
        (FastGAN, Liu et al. 2021; `recon`): a decoder rebuilds each real image the discriminator sees
        from its last feature map, and the mean absolute error of the rebuilt pixels is added, so
        its features describe whole sprites. 0 off.
      ada_target: adaptive discriminator augmentation (ADA, Karras et al. 2020), t in (0, 1): ADA's ops are applied
        to real and generated images in both steps (after `augment`), each with probability p, and p follows
        the discriminator's overfitting: every `ada_interval` steps it rises if the mean sign of D on the real
        images seen since is above t (the paper's 0.6), else falls, by the images seen / `ada_images`. p is a
        checkpointed non-trainable weight, reported as `ada_p` beside that mean sign (`d_real_sign`). 0 off.
        None: the dataset's recipe (0).
      ada_ops: ADA's ops (`augment.ADA_OPS`) joined by `,` or `+`. None: xflip, rotate90 (square images),
        whole-pixel translation, brightness, contrast, saturation (the paper's `bgc` without resampling).
      ada_interval, ada_images, ada_p_start: steps between moves of p; real images over which p could cross
        [0, 1] (the paper: 500,000; 100,000 here moves p 0 -> 1 in ~1,560 steps of 64 images, about half a
        300-epoch `pokemon40` run); the starting p.
      silhouette_weight: with `region_background`, w > 0 trains a second, unconditional discriminator on body masks
        only (`silhouette`: the real sprites' non-background pixels against the pixels whose most likely region
        is a body region, straight-through) and adds w times its adversarial term to the generator's loss, so
        the shapes (limbs, gaps) are asked for apart from the colours. Reported as `s_loss`. 0 off. None: the
        dataset's recipe (0).
      silhouette_augment: what every mask, real and generated, goes through before the silhouette discriminator
        (in its step and in the generator's, differentiated through): `augment.MASK_OPS` joined by `,` or `+`.
        None: `xflip` (the masks mirrored at random); `xflip,translation,cutout` against its memorising the masks.
      patch_weight: DCGAN discriminators, w > 0: a second, local discriminator (`patches`, PatchGAN: one score per
        12 x 12 window, every 4 pixels) learns beside the main one, with its optimizer, on the same augmented
        images, and the generator's loss adds w times its adversarial term averaged over the windows, so small
        detail (eyes, accents) is asked for where one score per sprite barely notices it. Reported as
        `patch_loss`. Not with a gradient-penalised loss (the windows get no penalty). 0 off.
      lecam_weight: lambda >= 0 of the LeCam regulariser in the discriminator's loss (`lecam`, Tseng et al. 2021):
        lambda * (relu(D(x) - a_fake)^2 + relu(a_real - D(G(z)))^2), a_real and a_fake moving averages (decay 0.99)
        of the scores on real and generated images, a checkpointed non-trainable weight; it keeps the
        discriminator from pushing the two sides' scores apart, as it does when it memorises a small training
        set. Part of the reported `d_loss` (as R1), and reported alone (unweighted) as `lecam`. 0 off.
      g_filters: the DCGAN generator's first-layer channels (doubling per halving) apart from the
        discriminator's `filters`. None: `filters`.
      accents: with `regions`, A >= 1 flat accent colours per image (from the code), each painted on the
        `accent_pixels` body pixels (outside the outline) where the generator's map for it is highest, after the
        shade and the lines (`networks.RegionPaint`, `networks.top_pixels`): details of a pixel or two (eyes,
        highlights) that a region cannot paint, since the lines between regions cover a region that small; every
        body gets them. Straight-through in training. 0 off.
      accent_pixels: the pixels each accent paints (1-64; 2).
      region_smooth: with `regions`, s >= 1: the DCGAN generator's region logits (and its shade) are averaged
        over s x s blocks and resized back bilinearly before the paint, so the regions' borders, the body's
        edge and hence the outline follow smooth curves, as a sprite's do, not pixel-wise ragged ones; the
        lines and accents stay one pixel fine. s must divide the image's height and width. 0 off.
      region_smooth_parts: with `region_smooth` >= 2 and `region_background`, False smooths only the background's
        logit, the body's level (the logsumexp of the body regions' logits) and the shade: the body's edge, and so
        the outline, follows smooth curves, while each part's share of the body, and so the borders between the
        parts inside, stays pixel-fine (`networks.BodyLevel`, `networks.SmoothEdge`). True (the default): every
        region's logit is smoothed.
      upsample: how the DCGAN generator doubles its size: `transpose` (4x4 fractionally strided
        convolutions, Radford et al. 2016) or `nearest` (nearest-neighbour resizing, then a 3x3
        convolution; Odena et al. 2016).
      aux_weight: conditional models: weight of the auxiliary classifier's loss
        (AC-GAN, Odena et al. 2017) added to both players' losses; 0 switches the
        class head off. None: the class's `default_aux_weight` (1 for `cgan`).
      aux_fake: whether the discriminator's class head also learns to classify generated
        images (Odena et al. 2017); False trains it on real images only, so the generator
        must draw what tells real classes apart, not a cue the two players agree on
        (on `shapes`: a fill colour per class, docs/gan.md). None: the dataset's recipe (False for
        `cgan` on `shapes`, else True).
      aux_twin: TAC-GAN (Gong et al. 2019): the class head learns from real images only and
        a twin head learns to classify the generated ones; the generator minimises the
        class head's loss minus the twin's, which cancels the AC-GAN term's pull towards
        easily classified, alike samples (the collapse within each class that `aux_fake=False`
        alone showed). `aux_fake` has no effect with it. Needs `aux_weight` > 0. None: the
        dataset's recipe where a class head exists (True for `cgan` on `pokemon40`), else False.
      projection: conditional models: whether the discriminator's score adds the projection
        term <embed(y), phi(x)> (Miyato & Koyama 2018); False leaves the label to the class head.
        None: the dataset's recipe (False for `cgan` on `pokemon40`, else True), and True
        without a class head (`aux_weight=0`), where the projection is all that reads the label.
      seed: base seed of the training noise.
    """

    decode_signature = "generate"
    recipes = RECIPES  # what None means, by dataset name
    default_aux_weight = 0.0
    architecture = "mlp"
    metric_names = ("d_loss", "g_loss", "d_real_accuracy", "d_fake_accuracy", "d_grad_norm", "g_grad_norm",
                    "texture_gap")
    # No GAN loss measures sample quality (the lecture's warning); the held-out
    # generator loss at least rises when the discriminator overpowers the generator.
    monitor = "g_loss"
    default_learning_rate = 2e-4  # Radford et al. 2016, section 4

    def __init__(self, spec, latent_dim: int = 100, filters: int | None = None, hidden: int = 256,
                 loss: str | None = None, d_steps: int = 1, gp_weight: float = 10.0,
                 ema_decay: float = 0.999, beta_1: float = 0.5, beta_2: float = 0.999, aux_weight: float | None = None,
                 aux_fake: bool | None = None, augment: str | None = None, spectral_norm: bool | None = None,
                 r1_gamma: float | None = None, aux_twin: bool | None = None, projection: bool | None = None,
                 d_norm: str | None = None, palette_output: str | None = None, regions: int | None = None,
                 hard_regions: bool = False, region_gain: float = 1.0, upsample: str = "transpose", seed: int = 0,
                 region_gain_end: float | None = None, region_anneal_steps: int | None = None,
                 region_background: bool | None = None, shading: float | None = None,
                 texture_weight: float | None = None, outline: float | None = None,
                 inner_lines: float | None = None, parts: int | None = None, parts_weight: float = 1.0,
                 recon_weight: float = 0.0, outline_grey: float | None = None, lines_grey: float | None = None,
                 despeckle: int | None = None, one_body: bool | None = None, shade_steps: int | None = None,
                 ada_target: float | None = None, ada_ops: str | None = None, ada_interval: int = 4,
                 ada_images: int = 100_000, ada_p_start: float = 0.0, silhouette_weight: float | None = None,
                 silhouette_augment: str | None = None, patch_weight: float = 0.0,
                 lecam_weight: float = 0.0, g_filters: int | None = None,
                 accents: int = 0, accent_pixels: int = 2, region_smooth: int = 0,
                 region_smooth_parts: bool = True, **kwargs):
        super().__init__(spec, seed, **kwargs)
        recipe = default_recipe(self.spec, self.recipes)
        given = {"filters": filters, "aux_fake": aux_fake, "loss": loss, "augment": augment,
                 "spectral_norm": spectral_norm, "r1_gamma": r1_gamma}
        filters, aux_fake, loss, augment, spectral_norm, r1_gamma = (
            recipe[key] if value is None else value for key, value in given.items())
        require_positive(latent_dim=latent_dim, filters=filters, hidden=hidden, d_steps=d_steps)
        if g_filters is not None and (self.architecture != "dcgan" or isinstance(g_filters, bool)
                                      or not isinstance(g_filters, int) or g_filters < 1):
            raise UserError(f"g_filters must be a positive integer (None: filters) and needs the DCGAN generator "
                            f"(dcgan, cgan), got {g_filters!r} for {type(self).__name__}")
        if not isinstance(spectral_norm, bool):
            raise UserError(f"spectral_norm must be true or false, got {spectral_norm!r}")
        if r1_gamma < 0:
            raise UserError(f"r1_gamma must be >= 0, got {r1_gamma}")
        if loss not in gan_losses.LOSSES:
            raise UserError(f"unknown GAN loss {loss!r}; choose one of {', '.join(gan_losses.LOSSES)}")
        if not 0.0 <= ema_decay < 1.0:
            raise UserError(f"ema_decay must lie in [0, 1), got {ema_decay}")
        if gp_weight < 0:
            raise UserError(f"gp_weight must be >= 0, got {gp_weight}")
        aux_weight = self.default_aux_weight if aux_weight is None else aux_weight
        if aux_weight < 0 or (aux_weight and not self.conditional):
            raise UserError(f"aux_weight must be >= 0 and needs a conditional model, got {aux_weight} "
                            f"for {type(self).__name__}")
        if self.conditional and self.spec.num_classes < 2:
            raise UserError(f"{type(self).__name__} needs a labelled dataset; {self.spec.name!r} has no labels")
        self.latent_dim, self.filters, self.hidden = int(latent_dim), int(filters), int(hidden)
        self.g_filters = self.filters if g_filters is None else g_filters
        self.loss_name, self.d_steps, self.gp_weight = loss, int(d_steps), float(gp_weight)
        self.ema_decay, self.beta_1, self.beta_2 = float(ema_decay), float(beta_1), float(beta_2)
        if not isinstance(aux_fake, bool):
            raise UserError(f"aux_fake must be true or false, got {aux_fake!r}")
        if aux_twin is None:  # the recipe's, where a class head exists
            aux_twin = recipe["aux_twin"] and bool(aux_weight)
        if not isinstance(aux_twin, bool):
            raise UserError(f"aux_twin must be true or false, got {aux_twin!r}")
        if aux_twin and not aux_weight:
            raise UserError("aux_twin needs the class head: aux_weight > 0 on a conditional model")
        if projection is None:  # the recipe's, unless the discriminator would then never see the label
            projection = recipe["projection"] or not aux_weight
        if not isinstance(projection, bool):
            raise UserError(f"projection must be true or false, got {projection!r}")
        if self.conditional and not (projection or aux_weight):
            raise UserError("projection=false needs the class head (aux_weight > 0): without either the "
                            "discriminator never sees the label")
        self.aux_weight, self.aux_fake, self.aux_twin = float(aux_weight), aux_fake, aux_twin
        self.projection = projection
        self.gan_loss = gan_losses.get(loss)
        self.augment_policy = diffaug.check_policy(augment)
        self.spectral_norm, self.r1_gamma = spectral_norm, float(r1_gamma)
        if d_norm is None:
            d_norm = "layer" if self.gan_loss.gradient_penalty else "none" if spectral_norm else "batch"
        if d_norm not in NORMS:
            raise UserError(f"unknown d_norm {d_norm!r}; choose one of {', '.join(NORMS)}")
        self.d_norm = d_norm
        if palette_output is None:  # the recipe's, where it can apply: a DCGAN on palette data, no regions asked
            palette_output = (recipe["palette_output"] if self.architecture == "dcgan" and self.spec.encoding == "palette"
                              and not regions else "none")
        if palette_output not in PALETTE_OUTPUTS:
            raise UserError(f"unknown palette_output {palette_output!r}; choose one of {', '.join(PALETTE_OUTPUTS)}")
        if palette_output != "none" and self.architecture != "dcgan":
            raise UserError(f"palette_output={palette_output} needs the DCGAN generator (dcgan, cgan), "
                            f"not {type(self).__name__}'s")
        if palette_output != "none" and self.spec.encoding != "palette":
            raise UserError(f"palette_output={palette_output} needs palette data; {self.spec.name!r} is "
                            f"{self.spec.encoding}")
        self.palette_output = palette_output
        if regions is None:  # the recipe's, where it can apply: a DCGAN generator painting free RGB
            regions = recipe["regions"] if self.architecture == "dcgan" and palette_output == "none" else 0
        if isinstance(regions, bool) or not isinstance(regions, int) or regions < 0 or regions == 1:
            raise UserError(f"regions must be 0 (off) or an integer >= 2, got {regions!r}")
        if regions and (self.architecture != "dcgan" or palette_output != "none"):
            raise UserError(f"regions={regions} needs the DCGAN generator (dcgan, cgan) with palette_output=none")
        if not isinstance(hard_regions, bool):
            raise UserError(f"hard_regions must be true or false, got {hard_regions!r}")
        if hard_regions and not regions:
            raise UserError("hard_regions needs regions >= 2")
        if not region_gain > 0 or (region_gain != 1 and not regions):
            raise UserError(f"region_gain must be > 0 and needs regions >= 2, got {region_gain!r}")
        self.regions, self.hard_regions, self.region_gain = regions, hard_regions, float(region_gain)
        if region_gain_end is None:
            region_gain_end = recipe["region_gain_end"] if regions else 0.0
        if region_anneal_steps is None:
            region_anneal_steps = recipe["region_anneal_steps"] if regions else 0
        if isinstance(region_anneal_steps, bool) or not isinstance(region_anneal_steps, int) or region_anneal_steps < 0:
            raise UserError(f"region_anneal_steps must be an integer >= 0, got {region_anneal_steps!r}")
        if region_gain_end < 0 or (region_gain_end and not (regions and region_anneal_steps)):
            raise UserError(f"region_gain_end must be >= 0 (0: off), and needs regions >= 2 and region_anneal_steps "
                            f">= 1, got {region_gain_end!r} with regions={regions}, "
                            f"region_anneal_steps={region_anneal_steps}")
        self.region_gain_end, self.region_anneal_steps = float(region_gain_end), int(region_anneal_steps)
        region_background = _switch("region_background", region_background, recipe["region_background"],
                                    "regions >= 2", regions)
        self.region_background = region_background
        self.shading = _share("shading", shading, recipe["shading"], "regions >= 2", regions, closed=False)
        self.outline = _share("outline", outline, recipe["outline"], "region_background", region_background)
        self.inner_lines = _share("inner_lines", inner_lines, recipe["inner_lines"], "regions >= 2", regions)
        self.outline_grey = _grey_level("outline_grey", outline_grey, recipe["outline_grey"], "outline > 0",
                                        self.outline)
        self.lines_grey = _grey_level("lines_grey", lines_grey, recipe["lines_grey"], "inner_lines > 0",
                                      self.inner_lines)
        self.despeckle = _count("despeckle", despeckle, recipe["despeckle"], "region_background", region_background)
        self.shade_steps = _count("shade_steps", shade_steps, recipe["shade_steps"], "shading > 0", self.shading,
                                  zero="continuous")
        self.accents = _count("accents", accents, 0, "regions >= 2", regions)
        if isinstance(accent_pixels, bool) or not isinstance(accent_pixels, int) or not 1 <= accent_pixels <= 64:
            raise UserError(f"accent_pixels must be an integer from 1 to 64, got {accent_pixels!r}")
        self.accent_pixels = accent_pixels
        self.region_smooth = _count("region_smooth", region_smooth, 0, "regions >= 2", regions)
        height, width = encodings.symmetric_shape(self.spec)[:2]
        if self.region_smooth and (height % self.region_smooth or width % self.region_smooth):
            raise UserError(f"region_smooth must divide the image's height and width, got {region_smooth} for "
                            f"{height}x{width} images")
        if not isinstance(region_smooth_parts, bool) or not (region_smooth_parts or (
                self.region_smooth >= 2 and region_background)):
            raise UserError(f"region_smooth_parts must be true or false, and false needs region_smooth >= 2 and "
                            f"region_background, got {region_smooth_parts!r} with region_smooth={self.region_smooth}, "
                            f"region_background={region_background}")
        self.region_smooth_parts = region_smooth_parts
        self.one_body = _switch("one_body", one_body, recipe["one_body"], "region_background", region_background)
        self.silhouette_weight = _share("silhouette_weight", silhouette_weight, recipe["silhouette_weight"],
                                        "region_background", region_background, top=100, kind="a weight")
        if silhouette_augment is not None and not self.silhouette_weight:
            raise UserError(f"silhouette_augment needs silhouette_weight > 0, got silhouette_augment="
                            f"{silhouette_augment!r} with silhouette_weight={self.silhouette_weight!r}")
        self.silhouette_augment = diffaug.check_ops(
            "silhouette_augment", diffaug.DEFAULT_MASK_OPS if silhouette_augment is None else silhouette_augment,
            diffaug.MASK_OPS, self.spec.height, self.spec.width)
        if texture_weight is None:
            texture_weight = recipe["texture_weight"]
        if not _is_number(texture_weight) or not texture_weight >= 0:
            raise UserError(f"texture_weight must be a number >= 0 (0: off), got {texture_weight!r}")
        self.texture_weight = float(texture_weight)
        if parts is None:
            parts = recipe["parts"] if regions else 0
        body_regions = regions - region_background
        if isinstance(parts, bool) or not isinstance(parts, int) or parts < 0 or parts == 1 or parts > body_regions:
            raise UserError(f"parts must be 0 (off) or an integer from 2 to the body regions (regions={regions}"
                            f"{' less the background' if region_background else ''}: {max(body_regions, 0)}), "
                            f"got {parts!r}")
        if not _is_number(parts_weight) or not parts_weight > 0:
            raise UserError(f"parts_weight must be a number > 0, got {parts_weight!r}")
        self.parts, self.parts_weight = parts, float(parts_weight)
        if not _is_number(recon_weight) or not recon_weight >= 0 or (recon_weight and self.architecture != "dcgan"):
            raise UserError(f"recon_weight must be a number >= 0 (0: off) and needs a DCGAN discriminator (dcgan, "
                            f"cgan), got {recon_weight!r} for {type(self).__name__}")
        self.recon_weight = float(recon_weight)
        if not _is_number(patch_weight) or not 0 <= patch_weight <= 100 or (
                patch_weight and (self.architecture != "dcgan" or self.gan_loss.gradient_penalty)):
            raise UserError(f"patch_weight must be a number in [0, 100] (0: off) and needs a DCGAN discriminator "
                            f"(dcgan, cgan) and a loss without gradient penalty, got {patch_weight!r} for "
                            f"{type(self).__name__} with loss={loss}")
        self.patch_weight = float(patch_weight)
        self._set_lecam(lecam_weight)
        if self.recon_weight:  # reported only where trained
            self.metric_names = (*self.metric_names, "d_recon")
            self.trackers["d_recon"] = keras.metrics.Mean(name="d_recon")
        self._set_ada(recipe["ada_target"] if ada_target is None else ada_target, ada_ops, ada_interval, ada_images,
                      ada_p_start)
        if upsample not in UPSAMPLES or (upsample != "transpose" and self.architecture != "dcgan"):
            raise UserError(f"upsample must be one of {', '.join(UPSAMPLES)} (DCGAN generator only), got {upsample!r}")
        self.upsample = upsample
        self.num_classes = self.spec.num_classes if self.conditional else 0
        self.image_shape = encodings.symmetric_shape(self.spec)
        # === Layers ===
        self.generator = self.build_generator("generator")
        self.discriminator = self.build_discriminator()
        if self.recon_weight:
            features = recon.feature_map(self.discriminator)
            self.d_decoder = recon.decoder(tuple(features.shape[1:]), self.image_shape, self.filters)
        if self.silhouette_weight:  # unconditional, no class head: it judges shapes only
            self.s_discriminator = dcgan_discriminator((*self.image_shape[:2], 1), self.filters, 0, self.d_norm,
                                                       name="silhouette_discriminator",
                                                       spectral_norm=self.spectral_norm)
            self.metric_names = (*self.metric_names, "s_loss")
            self.trackers["s_loss"] = keras.metrics.Mean(name="s_loss")
        if self.patch_weight:  # unconditional: local detail only
            self.p_discriminator = patches.discriminator(self.image_shape, self.filters, self.d_norm,
                                                         spectral_norm=self.spectral_norm)
            self.metric_names = (*self.metric_names, "patch_loss")
            self.trackers["patch_loss"] = keras.metrics.Mean(name="patch_loss")
        # The averaged generator: same network, weights only ever assigned, never trained.
        self.ema_generator = self.build_generator("ema_generator")
        self.ema_generator.trainable = False
        for average, weight in zip(self.ema_generator.weights, self.generator.weights):
            average.assign(weight)
        self.set_one_body(self.one_body)
        self.built = True

    def _set_lecam(self, weight) -> None:
        """Checks `lecam_weight` and, when on, creates the averages it anchors to (`lecam`)."""
        if not _is_number(weight) or not 0 <= weight <= 100:
            raise UserError(f"lecam_weight must be a number in [0, 100] (0: off), got {weight!r}")
        self.lecam_weight = float(weight)
        if not weight:
            return
        # [a_real, a_fake], moved on every replica by the same all-reduced means: only_first_replica.
        self.lecam_anchors = self.add_weight(
            shape=(2,), initializer=keras.initializers.Constant(self.gan_loss.threshold), trainable=False,
            name="lecam_anchors", aggregation="only_first_replica")
        self.metric_names = (*self.metric_names, "lecam")
        self.trackers["lecam"] = keras.metrics.Mean(name="lecam")

    def _set_ada(self, target, ops, interval, images, p_start) -> None:
        """Checks ADA's hyper-parameters and, with a target, creates its state: p and the sums of sign(D(real))."""
        if not _is_number(target) or not 0 <= target < 1:
            raise UserError(f"ada_target must be a number in [0, 1) (0: off), got {target!r}")
        self.ada_target = float(target)
        if ops is not None and not target:
            raise UserError(f"ada_ops needs ada_target > 0, got ada_ops={ops!r} with ada_target={target!r}")
        square = self.spec.height == self.spec.width
        if ops is None:  # quarter turns only where they keep the shape
            ops = diffaug.DEFAULT_ADA_OPS if square else diffaug.DEFAULT_ADA_OPS.replace("rotate90,", "")
        self.ada_ops = diffaug.check_ada_ops(ops, self.spec.height, self.spec.width)
        for name, value in (("ada_interval", interval), ("ada_images", images)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise UserError(f"{name} must be an integer >= 1, got {value!r}")
        if not _is_number(p_start) or not 0 <= p_start <= 1:
            raise UserError(f"ada_p_start must be a number in [0, 1], got {p_start!r}")
        self.ada_interval, self.ada_images, self.ada_p_start = interval, images, float(p_start)
        if not target:
            return
        # Set on every replica to the same value (all-reduced signs, the step counter): only_first_replica.
        self.ada_p = self.add_weight(shape=(), initializer=keras.initializers.Constant(self.ada_p_start),
                                     trainable=False, name="ada_p", aggregation="only_first_replica")
        # [sum of sign(D(real) - threshold), images] since the last adjustment, over the global batch.
        self.ada_signs = self.add_weight(shape=(2,), initializer="zeros", trainable=False, name="ada_signs",
                                         aggregation="only_first_replica")
        self.metric_names = (*self.metric_names, "ada_p", "d_real_sign")
        for name in ("ada_p", "d_real_sign"):
            self.trackers[name] = keras.metrics.Mean(name=name)

    def build_generator(self, name):
        return mlp_generator(self.latent_dim, self.image_shape, self.hidden, self.num_classes, name)

    def build_discriminator(self):
        return mlp_discriminator(self.image_shape, self.hidden, self.num_classes, classifier=bool(self.aux_weight),
                                 twin=self.aux_twin, projection=self.projection,
                                 spectral_norm=self.spectral_norm)

    # === Encodings <-> the networks' [-1, 1] space ===
    def to_model_space(self, images):
        """Encoded images -> float `[B, H, W, C]` in [-1, 1]."""
        return encodings.to_symmetric(images, self.spec)

    def from_model_space(self, x):
        """Generator output in [-1, 1] -> encoded images (nearest palette colour, {0,1} or [0,1])."""
        return encodings.from_symmetric(x, self.spec)

    # === Network calls ===
    def _inputs(self, x, labels):
        return [x, tf.cast(labels, tf.int32)] if self.conditional else x

    def call(self, z, labels=None, training=False):
        """The generator's output in [-1, 1] for codes z (labels for the conditional GAN)."""
        return self.generator(self._inputs(z, labels), training=training)

    def _scores(self, outputs):
        """The discriminator's outputs -> (scores `[B]`, class logits `[B, classes]` or None)."""
        return (outputs[0], outputs[1]) if self.aux_weight else (outputs, None)

    def _class_loss(self, labels, logits):
        """aux_weight * the auxiliary classifier's cross-entropy, per example (0 without a class head)."""
        if logits is None:
            return 0.0
        return self.aux_weight * gan_losses.auxiliary_classifier_loss(labels, logits[:, :self.num_classes])

    def _twin_loss(self, labels, logits):
        """aux_weight * the twin head's cross-entropy (TAC-GAN), per example (0 without the twin)."""
        if not self.aux_twin:
            return 0.0
        return self.aux_weight * gan_losses.auxiliary_classifier_loss(labels, logits[:, self.num_classes:])

    def _fake_class_loss(self, labels, logits):
        """The discriminator's class losses on generated images: the twin's (TAC-GAN), else the
        class head's if `aux_fake`, else 0."""
        if self.aux_twin:
            return self._twin_loss(labels, logits)
        return self._class_loss(labels, logits) if self.aux_fake else 0.0

    def _frozen_call(self, network, inputs):
        """`network` in training mode (batch statistics) without updating any of its state.

        Each step must leave the other player untouched, including its batch-norm
        moving averages, so the other network runs statelessly on its current values.
        """
        outputs, _ = network.stateless_call(
            [v.value for v in network.trainable_variables],
            [v.value for v in network.non_trainable_variables], inputs, training=True)
        return outputs

    def augment(self, x, seed):
        """DiffAugment (Zhao et al. 2020): the same random family of differentiable transformations
        for real and generated images, drawn per example from `seed` (replica-count independent);
        then, with `ada_target`, ADA's ops each with this step's probability p."""
        x = diffaug.diff_augment(x, seed, self.augment_policy)
        return diffaug.adaptive_augment(x, seed, self.ada_p, self.ada_ops) if self.ada_target else x

    def noise(self, batch, seed):
        """Codes for this replica's examples: the same per example whatever the replica count."""
        return replica_slice(lambda n: tf.random.stateless_normal([n, self.latent_dim], seed), batch)

    # === The game ===
    def discriminator_step(self, real, labels, seed):
        """One discriminator update on a real batch (in [-1, 1]) and a fresh generated batch."""
        batch = tf.shape(real)[0]
        inputs = self._inputs(self.noise(batch, seed), labels)
        if self.silhouette_weight:
            fake, region_logits, _ = self.painted(inputs, frozen=True)
            fake, silhouette = tf.stop_gradient(fake), self.silhouette_step(real, region_logits, seed)
        else:
            fake, silhouette = tf.stop_gradient(self._frozen_call(self.generator, inputs)), {}
        variables = self.discriminator_variables()
        discriminate = lambda x: self._scores(self.discriminator(self._inputs(x, labels), training=True))
        real_seed = tf.random.experimental.stateless_fold_in(seed, 2)
        with tf.GradientTape() as tape:
            # DiffAugment: D sees only augmented images, real and generated alike, so it cannot
            # memorise the few real ones, and nothing tells the augmentation apart from the data.
            fake_augmented = self.augment(fake, tf.random.experimental.stateless_fold_in(seed, 3))
            # Separate calls: batch norm must normalise generated images by statistics of a
            # generated batch, as in the generator step, or the generator learns to exploit
            # the difference between a mixed batch and a purely generated one.
            if self.r1_gamma:
                # R1 (Mescheder et al. 2018, eq. 9): gamma/2 ||grad_x D(T(x))||^2 on the real batch,
                # differentiated through the augmentation as in Zhao et al.'s StyleGAN2 code.
                r1, (real_scores, real_logits, rebuilt) = gan_losses.r1_penalty(
                    lambda x: self._discriminate_real(self.augment(x, real_seed), labels), real)
                # The same draws again (same seed) where the real images are needed as seen.
                needed = self.patch_weight or self.gan_loss.gradient_penalty
                real_seen = self.augment(real, real_seed) if needed else None
            else:
                real_seen = self.augment(real, real_seed)
                real_scores, real_logits, rebuilt = self._discriminate_real(real_seen, labels)
            fake_scores, fake_logits = discriminate(fake_augmented)
            per_example = self.gan_loss.discriminator(real_scores, fake_scores)
            if self.recon_weight:
                per_example += self.recon_weight * rebuilt
            if self.r1_gamma:
                per_example += 0.5 * self.r1_gamma * r1
            if self.lecam_weight:  # the averages move first, then anchor this step's scores (the authors' order)
                anchors = lecam.moved_anchors(self.lecam_anchors, real_scores, fake_scores)
                self.lecam_anchors.assign(anchors)
                regulariser = lecam.penalty(real_scores, fake_scores, anchors)
                per_example += self.lecam_weight * regulariser
            # AC-GAN: D maximises the class log-likelihood of real (and, with aux_fake, generated) images.
            per_example += self._class_loss(labels, real_logits) + self._fake_class_loss(labels, fake_logits)
            if self.gan_loss.gradient_penalty:
                mix_seed = tf.random.experimental.stateless_fold_in(seed, 1)
                epsilon = replica_slice(lambda n: tf.random.stateless_uniform([n], mix_seed), batch)
                critic = lambda x: discriminate(x)[0]
                per_example += self.gp_weight * gan_losses.wasserstein_gradient_penalty(
                    critic, real_seen, fake_augmented, epsilon)
            # The patch discriminator learns from the same images, beside (not inside) the reported d_loss;
            # its weight on this side would only scale its own gradients, which Adam undoes.
            patch = self.patch_loss(real_seen, fake_augmented) if self.patch_weight else 0.0
            scaled = self.d_optimizer.scale_loss(global_mean(per_example + patch))
        gradients = dense_gradients(tape.gradient(scaled, variables))
        self.d_optimizer.apply_gradients(zip(gradients, variables))
        threshold = self.gan_loss.threshold
        return {
            **(self.observe_real(real_scores) if self.ada_target else {}),
            **silhouette,
            "d_loss": per_example,
            "d_real_accuracy": tf.cast(real_scores > threshold, tf.float32),
            "d_fake_accuracy": tf.cast(fake_scores <= threshold, tf.float32),
            "d_grad_norm": global_gradient_norm(gradients),
            **({"d_recon": rebuilt} if self.recon_weight else {}),
            **({"patch_loss": patch} if self.patch_weight else {}),
            **({"lecam": regulariser} if self.lecam_weight else {}),
        }

    def patch_loss(self, real, fake, training=True):
        """The patch discriminator's loss on real and generated images as it sees them, averaged over its windows."""
        return patches.mean_over_windows(self.gan_loss.discriminator(self.p_discriminator(real, training=training),
                                                                     self.p_discriminator(fake, training=training)))

    def silhouette_step(self, real, region_logits, seed) -> dict:
        """One update of the silhouette discriminator (`silhouette_weight`): the real images' body masks against
        the generated ones (`region_logits`, held fixed), each through `silhouette_augment`, with the model's loss."""
        real_seen = self.seen_mask(silhouette.real_mask(real, self.background_colour), seed, 4)
        fake_seen = self.seen_mask(tf.stop_gradient(silhouette.fake_mask(region_logits)), seed, 5)
        variables = self.s_discriminator.trainable_variables
        with tf.GradientTape() as tape:
            per_example = self.gan_loss.discriminator(self.s_discriminator(real_seen, training=True),
                                                      self.s_discriminator(fake_seen, training=True))
            scaled = self.s_optimizer.scale_loss(global_mean(per_example))
        gradients = dense_gradients(tape.gradient(scaled, variables))
        self.s_optimizer.apply_gradients(zip(gradients, variables))
        return {"s_loss": per_example}

    def seen_mask(self, mask, seed, salt: int):
        """A body mask as the silhouette discriminator sees it: through `silhouette_augment` (drawn from `seed`
        folded with `salt`), in [-1, 1]."""
        seed = tf.random.experimental.stateless_fold_in(seed, salt)
        return silhouette.to_input(diffaug.mask_augment(mask, seed, self.silhouette_augment))

    @property
    def background_colour(self) -> list:
        """The background region's colour in model space (`region_background`)."""
        return self.generator.get_layer("region_paint").background

    def observe_real(self, real_scores) -> dict:
        """ADA: adds this step's sign(D(real)) over the global batch to the sums `adapt_augmentation` reads;
        returns the per-example signs and p as metrics."""
        signs = tf.sign(tf.cast(real_scores, tf.float32) - self.gan_loss.threshold)
        self.ada_signs.assign_add(replica_sum(tf.stack([tf.reduce_sum(signs), tf.cast(tf.size(signs), tf.float32)])))
        return {"d_real_sign": signs, "ada_p": tf.convert_to_tensor(self.ada_p)}

    def adapt_augmentation(self):
        """ADA (Karras et al. 2020): every `ada_interval` steps p moves by sign(r - ada_target) * images / ada_images,
        r the mean sign of D on the real images seen since the last move, so that p could cross [0, 1] in
        `ada_images` images; a function of the checkpointed sums and the step counter, so replicas and a resumed
        run agree."""
        if not self.ada_target:
            return
        sums = tf.convert_to_tensor(self.ada_signs)
        due = tf.equal(self.g_optimizer.iterations % self.ada_interval, 0)  # counts this step's generator update
        r = sums[0] / tf.maximum(sums[1], 1.0)
        moved = tf.clip_by_value(self.ada_p + tf.sign(r - self.ada_target) * sums[1] / self.ada_images, 0.0, 1.0)
        self.ada_p.assign(tf.where(due, moved, self.ada_p))
        self.ada_signs.assign(tf.where(due, tf.zeros_like(sums), sums))

    def discriminator_variables(self) -> list:
        """What the discriminator's optimizer trains: its network's weights, the decoder's with `recon_weight` and the
        patch discriminator's with `patch_weight`."""
        return (self.discriminator.trainable_variables
                + (self.d_decoder.trainable_variables if self.recon_weight else [])
                + (self.p_discriminator.trainable_variables if self.patch_weight else []))

    def _discriminate_real(self, seen, labels, training=True):
        """Scores, class logits (or None) and, with `recon_weight`, the per-example error of the image
        rebuilt from the discriminator's features (else None) for the real images `seen` (as D sees them)."""
        if not self.recon_weight:
            return (*self._scores(self.discriminator(self._inputs(seen, labels), training=training)), None)
        *outputs, features = recon.feature_view(self.discriminator)(self._inputs(seen, labels), training=training)
        rebuilt = recon.reconstruction_loss(self.d_decoder(features, training=training), seen)
        return (*self._scores(outputs if len(outputs) > 1 else outputs[0]), rebuilt)

    def generator_step(self, real, labels, seed):
        """One generator update through the fixed discriminator, on as many codes as `real` (the
        step's real batch) has images. The texture gap against `real` is measured, and with
        `texture_weight` added to the loss."""
        z = self.noise(tf.shape(real)[0], seed)
        variables = self.generator.trainable_variables
        with tf.GradientTape() as tape:
            if self.parts or self.silhouette_weight:
                fake, region_logits, _ = self.painted(self._inputs(z, labels))
            else:
                fake = self.generator(self._inputs(z, labels), training=True)
            texture, gap = texture_loss(fake, real)  # on what the generator paints, before the augmentation
            # The same family of augmentations as in the discriminator step, differentiated through.
            fake = self.augment(fake, tf.random.experimental.stateless_fold_in(seed, 2))
            fake_scores, fake_logits = self._scores(self._frozen_call(self.discriminator, self._inputs(fake, labels)))
            per_example = (self.gan_loss.generator(fake_scores) + self._class_loss(labels, fake_logits)
                           - self._twin_loss(labels, fake_logits))
            loss = per_example
            if self.texture_weight:
                loss = loss + self.texture_weight * texture
            if self.parts:
                loss = loss + self.parts_weight * parts_loss(region_logits, self.region_background, self.parts)
            if self.silhouette_weight:  # the frozen silhouette discriminator's verdict on the generated bodies
                shapes = self._frozen_call(self.s_discriminator, self.seen_mask(silhouette.fake_mask(region_logits),
                                                                                seed, 5))
                loss = loss + self.silhouette_weight * self.gan_loss.generator(shapes)
            if self.patch_weight:  # the frozen patch discriminator's verdict on each window, averaged
                windows = self.gan_loss.generator(self._frozen_call(self.p_discriminator, fake))
                loss = loss + self.patch_weight * patches.mean_over_windows(windows)
            scaled = self.g_optimizer.scale_loss(global_mean(loss))
        gradients = dense_gradients(tape.gradient(scaled, variables))
        self.g_optimizer.apply_gradients(zip(gradients, variables))
        return {"g_loss": per_example, "g_grad_norm": global_gradient_norm(gradients), "texture_gap": gap}

    def painted(self, inputs, training=True, ema=False, frozen=False):
        """A region generator's (the averaged one's with `ema`) images, region logits `[B, H, W, K]` (with
        the gain and the background's lead: RegionPaint's softmax input) and region colours `[B, K, C]`
        (the background's first) in one call, so batch norm updates once in training; `frozen`: in training
        mode without updating anything (`_frozen_call`, for the discriminators' steps)."""
        network = self.ema_generator if ema else self.generator
        region_paint = network.get_layer("region_paint")
        # A view of the same layers that also returns RegionPaint's inputs: no new weights.
        view = keras.Model(network.inputs, [network.output, *region_paint.input[:2]])
        images, logits, colours = self._frozen_call(view, inputs) if frozen else view(inputs, training=training)
        return (images, *region_paint.gained(logits, colours))

    def update_ema(self):
        """Averages trainable weights, copies batch-norm statistics.

        The decay ramps up as min(decay, (1 + t) / (10 + t)) (tf.train.ExponentialMovingAverage's
        num_updates), so short runs are not dominated by the initial weights.
        """
        t = tf.cast(self.g_optimizer.iterations, tf.float32)
        decay = tf.minimum(self.ema_decay, (1.0 + t) / (10.0 + t))
        for average, weight in zip(self.ema_generator.weights, self.generator.weights):
            if weight.trainable:
                average.assign(decay * average + (1.0 - decay) * weight)
            else:
                average.assign(weight)

    def anneal_regions(self):
        """Sets the region gain of this step (`region_gain_end`): a function of the step counter
        alone, so every replica sets the same value and a resumed run the uninterrupted run's."""
        if not self.region_gain_end:
            return
        done = tf.minimum(1.0, tf.cast(self.g_optimizer.iterations, tf.float32) / self.region_anneal_steps)
        self.generator.get_layer("region_paint").annealed_gain.assign(
            self.region_gain + (self.region_gain_end - self.region_gain) * done)

    def train_step(self, data):
        real = self.to_model_space(data["image"])
        labels = data["label"] if self.conditional else None
        self.anneal_regions()
        for k in range(self.d_steps):  # the same real batch for each of the k steps, fresh fakes each time
            self.track(self.discriminator_step(real, labels, self.step_seed(k)))
        results = self.track(self.generator_step(real, labels, self.step_seed(self.d_steps)))
        self.update_ema()
        self.adapt_augmentation()
        return results

    def test_step(self, data):
        """Both losses and accuracies on held-out images and fixed-seed codes (networks in inference mode)."""
        real = self.to_model_space(data["image"])
        labels = data["label"] if self.conditional else None
        batch = tf.shape(real)[0]
        inputs = self._inputs(self.noise(batch, seed_pair(self.seed, -1)), labels)
        if self.silhouette_weight:
            fake, region_logits, _ = self.painted(inputs, training=False)
            shapes = self.gan_loss.discriminator(
                self.s_discriminator(silhouette.to_input(silhouette.real_mask(real, self.background_colour))),
                self.s_discriminator(silhouette.to_input(silhouette.fake_mask(region_logits))))
        else:
            fake = self.generator(inputs, training=False)
        real_scores, real_logits, rebuilt = self._discriminate_real(real, labels, training=False)
        fake_scores, fake_logits = self._scores(self.discriminator(self._inputs(fake, labels), training=False))
        class_losses = self._class_loss(labels, real_logits) + self._fake_class_loss(labels, fake_logits)
        threshold = self.gan_loss.threshold
        return self.track({
            "d_loss": self.gan_loss.discriminator(real_scores, fake_scores) + class_losses,
            "g_loss": (self.gan_loss.generator(fake_scores) + self._class_loss(labels, fake_logits)
                       - self._twin_loss(labels, fake_logits)),
            "texture_gap": texture_loss(fake, real)[1],
            "d_real_accuracy": tf.cast(real_scores > threshold, tf.float32),
            "d_fake_accuracy": tf.cast(fake_scores <= threshold, tf.float32),
            **({"d_recon": rebuilt} if self.recon_weight else {}),
            **({"ada_p": tf.convert_to_tensor(self.ada_p), "d_real_sign": tf.sign(real_scores - threshold)}
               if self.ada_target else {}),
            **({"s_loss": shapes} if self.silhouette_weight else {}),
            **({"patch_loss": self.patch_loss(real, fake, training=False)} if self.patch_weight else {}),
            **({"lecam": lecam.penalty(real_scores, fake_scores, self.lecam_anchors)} if self.lecam_weight else {}),
        })

    # === Training set-up ===
    def compile_for_training(self, learning_rate: float) -> None:
        """Two Adam optimizers, each built on its own network's variables only."""
        adam = lambda name: make_optimizer(learning_rate, beta_1=self.beta_1, beta_2=self.beta_2, name=name)
        self.d_optimizer, self.g_optimizer = adam("d_adam"), adam("g_adam")
        self.d_optimizer.build(self.discriminator_variables())
        self.g_optimizer.build(self.generator.trainable_variables)
        if self.silhouette_weight:
            self.s_optimizer = adam("s_adam")
            self.s_optimizer.build(self.s_discriminator.trainable_variables)
        # Keras `fit` wants a compiled model; its optimizer is the generator's (its step counter).
        self.compile(optimizer=self.g_optimizer)

    def checkpoint_objects(self) -> dict:
        return {"model": self, "d_optimizer": self.d_optimizer, "g_optimizer": self.g_optimizer,
                **({"s_optimizer": self.s_optimizer} if self.silhouette_weight else {})}

    def step_seed(self, salt: int = 0) -> tf.Tensor:
        """Counted in generator steps, which the checkpoint restores with the optimizer."""
        return seed_pair(self.seed * 1000003 + salt, self.g_optimizer.iterations)

    # === Code space ===
    def generate(self, z, labels=None, ema: bool = True):
        """Codes `[N, latent_dim]` (+ labels) -> encoded images, by the averaged generator unless `ema=False`."""
        z = tf.convert_to_tensor(z, tf.float32)
        network = self.ema_generator if ema else self.generator
        x = network(self._inputs(z, self.labels_for(tf.shape(z)[0], labels)), training=False)
        return self.from_model_space(x)

    def decode(self, z, labels=None):
        """The `Decoder` capability: `generate` with the averaged generator."""
        return self.generate(z, labels)

    def sample_codes(self, num, seed, labels=None):  # the same N(0, I) for every class
        return tf.random.stateless_normal([num, self.latent_dim], seed_pair(seed, 0))

    def sample(self, num, seed, labels=None, temperature=1.0):
        """`num` encoded images from z ~ N(0, I); conditional models cycle the classes when `labels` is None."""
        self.check_temperature(temperature)
        return self.generate(self.sample_codes(num, seed), labels)

    def capabilities(self):
        declared = super().capabilities()
        # getattr: __init__ asks `self.conditional` before it sets region_background.
        return declared if getattr(self, "region_background", False) else declared - {capabilities.OneBody}

    def set_one_body(self, on: bool) -> None:
        """The `OneBody` capability (a GAN with `region_background`): samples from now on keep each image's
        largest body piece only (`on`), or every piece."""
        if on and not self.region_background:
            raise UserError("one_body needs a GAN trained with region_background (a plain background to keep)")
        self.one_body = bool(on)
        if self.region_background:  # the layer exists only then
            for network in (self.generator, self.ema_generator):
                network.get_layer("region_paint").one_body = self.one_body

    # === Config ===
    def get_config(self):
        return {
            **super().get_config(), "latent_dim": self.latent_dim, "filters": self.filters, "hidden": self.hidden,
            "loss": self.loss_name, "d_steps": self.d_steps, "gp_weight": self.gp_weight,
            "ema_decay": self.ema_decay, "beta_1": self.beta_1, "beta_2": self.beta_2, "aux_weight": self.aux_weight,
            "aux_fake": self.aux_fake, "aux_twin": self.aux_twin, "projection": self.projection,
            "augment": self.augment_policy, "spectral_norm": self.spectral_norm, "r1_gamma": self.r1_gamma,
            "d_norm": self.d_norm, "palette_output": self.palette_output, "regions": self.regions,
            "hard_regions": self.hard_regions, "region_gain": self.region_gain, "upsample": self.upsample,
            "region_gain_end": self.region_gain_end, "region_anneal_steps": self.region_anneal_steps,
            "region_background": self.region_background, "shading": self.shading,
            "texture_weight": self.texture_weight, "outline": self.outline, "inner_lines": self.inner_lines,
            "parts": self.parts, "parts_weight": self.parts_weight, "recon_weight": self.recon_weight,
            "outline_grey": self.outline_grey, "lines_grey": self.lines_grey, "despeckle": self.despeckle,
            "one_body": self.one_body, "shade_steps": self.shade_steps, "ada_target": self.ada_target,
            "ada_ops": self.ada_ops if self.ada_target else None, "ada_interval": self.ada_interval,
            "ada_images": self.ada_images, "ada_p_start": self.ada_p_start, "silhouette_weight": self.silhouette_weight,
            "silhouette_augment": self.silhouette_augment if self.silhouette_weight else None,
            "patch_weight": self.patch_weight, "lecam_weight": self.lecam_weight,
            "g_filters": None if self.g_filters == self.filters else self.g_filters, "accents": self.accents,
            "accent_pixels": self.accent_pixels, "region_smooth": self.region_smooth,
            "region_smooth_parts": self.region_smooth_parts,
        }

    @classmethod
    def from_config(cls, config):
        # Rebuild what an older config played, not what None means for its dataset today.
        return cls(**{**config, **saved_recipe(config)})


@register("dcgan")
@keras.saving.register_keras_serializable("genzoo")
class DCGAN(GAN):
    """The game with DCGAN networks (Radford et al. 2016) sized from the spec.

    20x20 starts from 5x5 (two doublings), 40x40 from 5x5 (three), 28x28 from 7x7,
    32x32 from 4x4. A gradient-penalised critic (`loss="wgan_gp"`) gets layer norm,
    since batch norm makes each example's score depend on the others; a spectrally
    normalised one none (`d_norm`).
    """

    architecture = "dcgan"

    def build_generator(self, name):
        return dcgan_generator(self.latent_dim, self.image_shape, self.g_filters, self.num_classes, name,
                               palette=self.spec.palette if self.palette_output != "none" else None,
                               straight_through=self.palette_output == "straight_through" or self.hard_regions,
                               regions=self.regions, region_gain=self.region_gain, upsample=self.upsample,
                               region_annealed=self.region_gain_end > 0,
                               region_background=(encodings.background_symmetric(self.spec)
                                                  if self.region_background else None),
                               shading=self.shading, outline=self.outline, inner_lines=self.inner_lines,
                               outline_grey=self.outline_grey, lines_grey=self.lines_grey,
                               despeckle=self.despeckle, shade_steps=self.shade_steps, accents=self.accents,
                               accent_pixels=self.accent_pixels, region_smooth=self.region_smooth,
                               region_smooth_parts=self.region_smooth_parts)

    def build_discriminator(self):
        return dcgan_discriminator(self.image_shape, self.filters, self.num_classes, self.d_norm,
                                   classifier=bool(self.aux_weight), spectral_norm=self.spectral_norm,
                                   twin=self.aux_twin, projection=self.projection)


@register("cgan")
@keras.saving.register_keras_serializable("genzoo")
class ConditionalGAN(DCGAN, capabilities.Conditional):
    """DCGAN with the class label embedded into the generator's code (Mirza & Osindero
    2014), a projection discriminator (Miyato & Koyama 2018) and, by default, an
    auxiliary classifier (Odena et al. 2017).

    The class head is on by default because the projection alone conditioned weakly on
    `shapes`: after 600 steps samples showed the requested shape 29-35% of the time
    (chance 25%), with the class head 42-60% (docs/gan.md).
    """

    default_aux_weight = 1.0  # Odena et al. 2017 weigh L_S and L_C equally
    recipes = CONDITIONAL_RECIPES
