"""Two-sample tests: can real and generated images be told apart?

Two complementary views of one question. Each returns an accuracy where 0.5 means
"indistinguishable at this sample size" and 1.0 means "always told apart".

* `c2st`, the classifier two-sample test (Lopez-Paz & Oquab, *Revisiting Classifier
  Two-Sample Tests*, ICLR 2017): train a small CNN to separate the two image sets and
  score it on images it did not see. Under the null hypothesis (one distribution) the
  held-out accuracy is binomial around 0.5, which gives a p-value (`binomial_p_value`)
  and a band of chance (`chance_band`). It sees what a small CNN learns from a few
  dozen examples (blur, colour shifts, flipped sprites, noise images) and, through
  seven per-image pixel statistics given beside the pixels (`pixel_statistics`),
  pixel texture: speckle and mottled colour, which the CNN alone missed (see `c2st`).
* `nearest_neighbour_accuracy`, the two-sided leave-one-out 1-NN classifier (Xu et
  al., *An empirical study on evaluation metrics of generative adversarial networks*,
  2018): no training, a fixed feature space (pixels via `pixel_features`, or the
  features of `genzoo.evaluation.features`). Its two one-sided shares say *how* the
  sets differ: collapsed samples acting as hubs, copies of the real images.

Both balance the two sets first (the larger one is subsampled, with the seed, to the
size of the smaller): with equal counts, chance is exactly 0.5.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

from genzoo.evaluation import pixel_statistics

__all__ = [
    "binomial_p_value",
    "c2st",
    "chance_band",
    "discriminator_network",
    "nearest_neighbour_accuracy",
    "pixel_features",
]


def _rgb(images, name: str) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
        raise ValueError(f"{name} must be uint8 RGB [N, H, W, 3], got {images.dtype} {images.shape}")
    return images


def _balanced(real, fake, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Both sets cut to n = min(len(real), len(fake)), a seeded subsample without replacement (order kept)."""
    n = min(len(real), len(fake))
    rng = np.random.default_rng(seed)
    return tuple(x if len(x) == n else x[np.sort(rng.choice(len(x), n, replace=False))] for x in (real, fake))


# === Binomial statistics ===
def _log_binomial_pmf(k: int, n: int, p: float) -> float:
    return (math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
            + k * math.log(p) + (n - k) * math.log1p(-p))


def binomial_p_value(correct: int, trials: int, p: float = 0.5) -> float:
    """One-sided exact binomial test: P(X >= correct) for X ~ Binomial(trials, p).

    The p-value of "the classifier is better than chance": the probability that a
    classifier guessing at random (each held-out prediction right with probability
    `p`, independently) gets at least `correct` of `trials` right. Example: 9 of 10
    at p = 0.5 gives (C(10, 9) + C(10, 10)) / 2^10 = 11/1024. Computed with
    `math.lgamma` and a log-sum-exp, so it stays accurate for tiny tails
    (1e-300) and thousands of trials without scipy.
    """
    correct, trials = int(correct), int(trials)
    if trials < 1 or not 0 <= correct <= trials:
        raise ValueError(f"need 0 <= correct <= trials, trials >= 1; got {correct} of {trials}")
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must lie in (0, 1), got {p}")
    if correct == 0:
        return 1.0
    logs = [_log_binomial_pmf(i, trials, p) for i in range(correct, trials + 1)]
    top = max(logs)
    return min(1.0, math.exp(top) * math.fsum(math.exp(v - top) for v in logs))


def chance_band(n_total: int, alpha: float = 0.01) -> float:
    """Half-width h: a held-out accuracy of identical distributions lies in 0.5 +- h with probability >= 1 - alpha.

    Where n_total comes from: `c2st` balances the sets to n = `num_per_side` images
    each and splits both into `folds` stratified folds. Every image lands in exactly
    one held-out fold, so one seed makes n_total = 2 n held-out predictions whatever
    the number of folds (more folds means more, smaller test sets, and more training
    data per classifier, not more predictions). When real and generated images come
    from one distribution no classifier beats a coin on unseen images, so the number
    of correct predictions X is (approximately: the folds' classifiers share training
    images) Binomial(n_total, 1/2), and the accuracy is X / n_total.

    The band is exact for that binomial: c is the largest count with
    P(X < c) <= alpha / 2, so by symmetry P(c <= X <= n_total - c) >= 1 - alpha and
    h = 1/2 - c / n_total. For large n_total it approaches the normal approximation
    z_(1 - alpha/2) * 0.5 / sqrt(n_total) (0.5 is the binomial standard deviation of a
    single prediction); for 80 vs 80 images (n_total = 160, alpha = 0.01) h = 0.1,
    so only an accuracy above 0.6 says the sets differ.

    Seeds do not widen n_total: they re-split and re-train on the *same* images, so
    their counts are correlated repeats, not new evidence. Pass one seed's count
    (2 * num_per_side); the mean over seeds varies no more than one seed does, so the
    band stays valid (if conservative) for `c2st`'s mean accuracy.
    """
    n_total = int(n_total)
    if n_total < 1:
        raise ValueError(f"n_total must be >= 1, got {n_total}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    # c = the largest count with P(X <= c - 1) <= alpha / 2: walk the cumulative sum up from 0.
    logs = [_log_binomial_pmf(i, n_total, 0.5) for i in range(n_total // 2 + 1)]
    cumulative, c = 0.0, 0
    for log_pmf in logs:
        cumulative += math.exp(log_pmf)
        if cumulative > alpha / 2:
            break
        c += 1
    return (n_total - 2 * c) / (2 * n_total)  # 1/2 - c/n_total, exact for even splits (0.1, not 0.0999...)


# === Classifier two-sample test ===
def discriminator_network(height: int, width: int, seed: int = 0, statistics: int = 0) -> keras.Model:
    """The C2ST classifier: strided 3x3 convolutions down to <= 7x7, then one logit ("is generated").

    Input float RGB in [-1, 1]. Two convolutions (16, 32 filters) for 20x20 images
    (20 -> 10 -> 5), a third (64) for 40x40 (40 -> 20 -> 10 -> 5). The last map is
    flattened, not pooled, so the classifier keeps *where* things are (a pooled one
    no longer told left-right flipped sprites apart). 5.9k weights for 20x20, 25k
    for 40x40: a fold of 64 + 64 sprites trains in about half a second.

    With `statistics` > 0 the model takes a second input, that many standardised
    per-image numbers (`pixel_statistics`), joined to the flattened map after the
    dropout, so the logit is the CNN's evidence plus a logistic regression on them.
    """
    # Every random draw seeded explicitly, never through the global generators: the training
    # loop's quality hook runs this between epochs, and reseeding them would change the
    # training run's data order.
    seeded = iter(range(seed * 64, seed * 64 + 64))
    init = lambda: keras.initializers.GlorotUniform(seed=next(seeded))
    inputs = [keras.Input((height, width, 3), name="pixels")]
    x, size, filters = inputs[0], max(height, width), 16
    while size > 7 or filters <= 32:  # at least two layers, then halve until <= 7
        x = keras.layers.Conv2D(filters, 3, strides=2, padding="same", kernel_initializer=init())(x)
        x = keras.layers.LeakyReLU(0.2)(x)
        size, filters = (size + 1) // 2, min(2 * filters, 128)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dropout(0.25, seed=next(seeded))(x)
    if statistics:
        inputs.append(keras.Input((statistics,), name="statistics"))
        x = keras.layers.Concatenate()([x, inputs[1]])
    outputs = keras.layers.Dense(1, name="logit", kernel_initializer=init())(x)
    return keras.Model(inputs, outputs, name="c2st_discriminator")


class _Trainer:
    """One compiled training loop for many fresh classifiers of one image size.

    A fresh `model.fit` per fold would retrace its train function every time (about a
    second each, 15 times per call); here the whole training run is one `tf.function`
    (a `tf.range` loop over precomputed minibatch indices), traced once. Each fold
    starts from the weights of a newly built network (its own seed) and from the
    optimizer's initial state, so it is a fresh classifier in all but the Python object.
    """

    def __init__(self, height: int, width: int, learning_rate: float, statistics: int = 0):
        self.height, self.width, self.statistics = height, width, statistics
        self.model = discriminator_network(height, width, statistics=statistics)
        self.optimizer = keras.optimizers.Adam(learning_rate)
        self.optimizer.build(self.model.trainable_variables)
        self.optimizer_start = [v.numpy() for v in self.optimizer.variables]
        image = tf.TensorSpec([None, height, width, 3], tf.float32)
        stats = tf.TensorSpec([None, statistics], tf.float32)
        self._train = tf.function(self._train_loop, input_signature=[
            image, stats, tf.TensorSpec([None], tf.float32), tf.TensorSpec([None, None], tf.int32)])
        self._predict = tf.function(lambda x, s: self._logits(x, s, training=False)[:, 0],
                                    input_signature=[image, stats])

    def _logits(self, x, s, training):
        return self.model([x, s] if self.statistics else x, training=training)

    def _train_loop(self, x, s, y, batches):
        loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)
        for step in tf.range(tf.shape(batches)[0]):
            index = batches[step]
            xb, sb, yb = tf.gather(x, index), tf.gather(s, index), tf.gather(y, index)
            with tf.GradientTape() as tape:
                loss = loss_fn(yb[:, None], self._logits(xb, sb, training=True))
            grads = tape.gradient(loss, self.model.trainable_variables)
            self.optimizer.apply(grads, self.model.trainable_variables)
        return tf.constant(0)

    def fit_predict(self, train, y_train, test, batches, seed: int) -> np.ndarray:
        """Fresh weights (seeded), the whole training run, then logits of `test`.

        `train` and `test` are (pixels, statistics) pairs; the statistics are `[N, 0]` when unused.
        """
        fresh = discriminator_network(self.height, self.width, seed, self.statistics)
        self.model.set_weights(fresh.get_weights())
        for mine, new in zip(self.model.layers, fresh.layers):  # dropout's random stream restarts too
            if getattr(mine, "seed_generator", None) is not None:
                mine.seed_generator.state.assign(new.seed_generator.state)
        for variable, value in zip(self.optimizer.variables, self.optimizer_start):
            variable.assign(value)
        self._train(*train, y_train, batches)
        return self._predict(*test).numpy()


# The statistics' weights must learn within the same 120 Adam steps as the pixel path, which
# overfits its fold first: Adam moves a weight by about the learning rate per step, so the gain
# works as a 10x learning rate for them. Measured on pokemon (80 a side, 3 seeds): gain 1 found
# sigma-32 noise at 0.70, 4 at 0.92, 10 at 0.996, with the floor at 0.52, 0.51, 0.51.
_STATISTICS_GAIN = 10.0


_TRAINERS: dict = {}


def _trainer(height: int, width: int, learning_rate: float, statistics: int) -> _Trainer:
    """One `_Trainer` per image size, learning rate, statistics and distribution strategy, kept for
    the process: its traced loop is reused by later calls (tracing took 0.3-0.5 s of a 1.4 s call
    at 80 a side; `evaluate` makes four calls, the quality hook one per scoring epoch). Reuse
    changes nothing: every fold starts from fresh seeded weights and the optimizer's first state."""
    key = (height, width, learning_rate, statistics, id(tf.distribute.get_strategy()))
    if key not in _TRAINERS:
        _TRAINERS[key] = _Trainer(height, width, learning_rate, statistics)
    return _TRAINERS[key]


def _standardised(stats: np.ndarray, train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Statistics scaled by the training fold's mean and spread (both sides pooled; the test fold unseen)."""
    mean, std = stats[train].mean(0), np.maximum(stats[train].std(0), 1e-3)
    return _STATISTICS_GAIN * (stats[train] - mean) / std, _STATISTICS_GAIN * (stats[test] - mean) / std


def _stratified_folds(n: int, folds: int, rng: np.random.Generator) -> np.ndarray:
    """Fold number of each of the n images of one side: a shuffle dealt round-robin (sizes differ by <= 1)."""
    fold_of = np.empty(n, np.int64)
    fold_of[rng.permutation(n)] = np.arange(n) % folds
    return fold_of


def _minibatches(num: int, batch_size: int, epochs: int, rng: np.random.Generator) -> np.ndarray:
    """`[steps, batch]` indices: a fresh shuffle each epoch, the incomplete last batch dropped."""
    batch_size = min(batch_size, num)
    per_epoch = num // batch_size
    return np.concatenate([rng.permutation(num)[:per_epoch * batch_size].reshape(per_epoch, batch_size)
                           for _ in range(epochs)]).astype(np.int32)


def c2st(real_rgb, fake_rgb, seeds=(0, 1, 2), folds: int = 5, epochs: int = 30, batch_size: int = 32,
         learning_rate: float = 1e-3, statistics: bool = True) -> dict:
    """Classifier two-sample test: held-out accuracy of a CNN told to separate real from generated images.

    For each seed: both sets are subsampled to n = min(N_real, N_fake) images
    (`num_per_side`), each side is dealt into `folds` folds (stratified: every fold
    holds n/folds real and n/folds generated images), and for each fold a fresh
    `discriminator_network` is trained on the other folds and predicts the held-out
    one (logit > 0 means "generated"). Every image is predicted exactly once per seed.

    The recipe, and why (measured on 80 vs 80 20x20 sprites, 2 CPU cores):
      * 5-fold cross-validation instead of the paper's single 50/50 split: all 2n
        images are tested (a tighter binomial) and each classifier trains on 80% of
        them; with 80 held-out sprites a side, data is the scarce resource.
      * a tiny strided CNN (`discriminator_network`), Adam at 1e-3, batch 32, 30
        epochs (120 steps at 80 vs 80), no early stopping. Noise vs sprites reaches
        ~1.0 at any budget; blur, colour shifts and left-right flips are what the
        budget decides. 10 epochs found blurred `shapes` at 0.69, 30 at 0.89, 80 at
        0.975; on `pokemon` 15/30/60 epochs gave a colour shift 0.77/0.82/0.87 but
        flipped sprites 0.70/0.68/0.66. Two draws of `shapes` stayed at chance at
        every budget (six independent pairs: single pairs 0.44-0.56, their mean
        0.50-0.52): with nothing learnable, overfitting only adds noise to the
        held-out predictions. 30 is the middle, at about 2.5 s per seed (80 vs 80)
        and 10 s per seed (500 vs 500) on an idle machine.
      * the last feature map is flattened, not pooled: a pooled classifier (also
        tried, with a full-resolution first convolution) lost the flips (0.52) and
        was twice as slow, for a small gain on Gaussian pixel noise. Dropout 0.25
        before the logit.
      * `statistics` (default on): the seven `pixel_statistics` of each image,
        standardised on the training folds and multiplied by 10, join the flattened
        map before the logit. The CNN alone did not find sigma = 32 Gaussian pixel
        noise on `pokemon` sprites at 80 a side (0.565, chance), nor the `dcgan`'s
        speckled samples (0.560), and a branch of learned filters averaged over the
        image (|conv|, pooled) did not help (noise 0.544). With the statistics:
        0.996 and 0.985, the floor unchanged (0.506). `statistics=False` is the
        classifier of the first calibration, kept for comparison.
      * no data augmentation: a flip or shift augmentation would blind the test to
        exactly the differences (orientation, placement) it should see.
      * the fake set must not be paired with the real one (corrupted copies of the
        *same* held-out images): a classifier that partly memorises its training
        folds then calls each held-out real image "generated" because its twin was
        a generated training example, and the accuracy drops far *below* 0.5 (0.12
        for noisy copies of the held-out sprites). Compare samples, or corrupted
        training images, with the held-out images.
      * inputs scaled to [-1, 1]; weights and dropout seeded per (seed, fold) through
        their own initializer seeds, shuffles from NumPy generators seeded the
        same way, so the same seeds give the same result (on one machine: TF's CPU
        kernels are not guaranteed bitwise reproducible across machines or thread
        counts; `tf.config.experimental.enable_op_determinism()` pins them further).
        The global random generators are left untouched.

    Args:
      real_rgb, fake_rgb: uint8 RGB `[N, H, W, 3]` of one image size (any H, W).
      seeds: one full cross-validation per seed (new subsample, folds, weights).
      folds: k of the k-fold cross-validation (2 <= k <= n).
      epochs, batch_size, learning_rate: the training budget of each classifier.
      statistics: give the classifier the per-image pixel statistics beside the pixels.

    Returns a dict:
      accuracy: mean held-out accuracy over seeds (0.5 chance, 1.0 always told apart).
      std: population standard deviation of the folds*seeds single-fold accuracies
        (the spread of one fold's score, not the standard error of `accuracy`; use
        `chance_band(2 * num_per_side)` and `p_value` for significance).
      per_seed: the accuracy of each seed (its correct count / 2n).
      p_value: `binomial_p_value` of the mean correct count over seeds (rounded
        down) out of 2n, i.e. one seed's worth of trials: seeds repeat the test on
        the same images, so pooling their counts would overstate the evidence.
      correct_per_seed: the correct counts behind `per_seed`.
      num_per_side, folds, seeds: n, k and the seeds used; pixel_statistics: `statistics`.
    """
    real, fake = _rgb(real_rgb, "real_rgb"), _rgb(fake_rgb, "fake_rgb")
    if real.shape[1:] != fake.shape[1:]:
        raise ValueError(f"image sizes differ: real {real.shape[1:]} vs fake {fake.shape[1:]}")
    n = min(len(real), len(fake))
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("c2st needs at least one seed")
    if not 2 <= folds <= n:
        raise ValueError(f"folds must lie in 2-{n} (the images per side), got {folds}")
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be >= 1, got {epochs} and {batch_size}")
    width = len(pixel_statistics.NAMES) if statistics else 0
    trainer = _trainer(real.shape[1], real.shape[2], float(learning_rate), width)
    labels = np.concatenate([np.zeros(n), np.ones(n)]).astype(np.float32)  # 1 = generated
    fold_accuracies, correct_per_seed = [], []
    for seed in seeds:
        rng = np.random.default_rng([seed, 0])
        r, f = _balanced(real, fake, seed)
        x = np.concatenate([r, f]).astype(np.float32) / 127.5 - 1.0
        stats = (pixel_statistics.pixel_statistics(np.concatenate([r, f])) if statistics
                 else np.zeros((2 * n, 0), np.float32))
        fold_of = np.concatenate([_stratified_folds(n, folds, rng), _stratified_folds(n, folds, rng)])
        correct = 0
        for fold in range(folds):
            train, test = np.flatnonzero(fold_of != fold), np.flatnonzero(fold_of == fold)
            batches = _minibatches(len(train), batch_size, epochs, np.random.default_rng([seed, fold + 1]))
            s_train, s_test = _standardised(stats, train, test) if statistics else (stats[train], stats[test])
            logits = trainer.fit_predict((x[train], s_train), labels[train], (x[test], s_test), batches,
                                         seed=seed * 1000 + fold)
            hits = int(((logits > 0) == (labels[test] > 0.5)).sum())
            correct += hits
            fold_accuracies.append(hits / len(test))
        correct_per_seed.append(correct)
    per_seed = [c / (2 * n) for c in correct_per_seed]
    return {
        "accuracy": float(np.mean(per_seed)),
        "std": float(np.std(fold_accuracies)),
        "per_seed": per_seed,
        "p_value": binomial_p_value(int(np.floor(np.mean(correct_per_seed))), 2 * n),
        "correct_per_seed": correct_per_seed,
        "num_per_side": n,
        "folds": folds,
        "pixel_statistics": bool(statistics),
        "seeds": seeds,
    }


# === Leave-one-out 1-NN ===
def pixel_features(rgb) -> np.ndarray:
    """uint8 RGB `[N, H, W, 3]` -> float64 `[N, H*W*3]` in [0, 1]: pixel space for `nearest_neighbour_accuracy`.

    float64, because squared distances via |x|^2 + |y|^2 - 2 x.y cancel badly in float32.
    """
    return _rgb(rgb, "rgb").reshape(len(rgb), -1).astype(np.float64) / 255.0


def _nearest_other(x: np.ndarray, chunk: int = 1024) -> np.ndarray:
    """Index of each row's nearest *other* row (Euclidean; ties go to the lowest index)."""
    norms = (x * x).sum(1)
    nearest = np.empty(len(x), np.int64)
    for start in range(0, len(x), chunk):
        block = x[start:start + chunk]
        d = norms[start:start + chunk, None] + norms[None] - 2 * block @ x.T
        d = np.maximum(d, 0.0)
        d[np.arange(len(block)), start + np.arange(len(block))] = np.inf  # leave one out: not itself
        nearest[start:start + chunk] = d.argmin(1)
    return nearest


def nearest_neighbour_accuracy(real_features, fake_features, seed: int = 0) -> dict:
    """Two-sided leave-one-out 1-NN accuracy of real vs generated feature vectors (Xu et al. 2018).

    Both sets are balanced to n = min(N_real, N_fake) vectors (seeded subsample) and
    pooled; each of the 2n points is classified by the label of its nearest *other*
    point (Euclidean distance; on an exact tie the lowest index wins, real points
    come first).

    Returns `real_side` (share of real points whose nearest neighbour is real),
    `fake_side` (share of generated points whose nearest neighbour is generated),
    `accuracy` (their mean) and `num_per_side` (n).

    Reading it:
      * ~0.5 / 0.5: the sets mix like two draws from one distribution, the ideal.
      * both near 1: two separate clusters, the sets are told apart.
      * accuracy well *below* 0.5 (both sides low): each generated point sits on a
        real one: the generator returns copies of these very images.
      * fake_side near 1 with real_side near 0: accuracy ~0.5 looks perfect, but it
        hides a failure. Collapsed or averaged samples (the same blurry "mean"
        image again and again) are each other's nearest neighbours, so the fake side
        is ~1; and a mean image can lie closer to every real image than real images
        lie to each other (in high dimension |x - mean|^2 ~ tr(Cov) while
        |x - x'|^2 ~ 2 tr(Cov)), so it is a *hub*: every real point's nearest
        neighbour is generated and the real side is ~0. That needs real points that
        are spread out rather than in tight clusters: the per-pixel mean of the
        `pokemon` sprites, repeated, scores real side 0.03, fake side 1.0; on
        `shapes`, whose sprites have near-twins, the real side stays ~0.8. Report
        the two sides, not just the accuracy.
      * fake_side near 1 with real_side near 1 for one *non*-average image repeated:
        it sits in one corner, so only its own copies are near it.

    Args:
      real_features, fake_features: float `[N, D]` (e.g. `pixel_features(rgb)` or a
        `features.FeatureExtractor`'s output), N >= 1 each, 2n >= 3 in total.
      seed: the balancing subsample (unused when N_real == N_fake).
    """
    real = np.asarray(real_features, np.float64)
    fake = np.asarray(fake_features, np.float64)
    for name, x in (("real_features", real), ("fake_features", fake)):
        if x.ndim != 2 or len(x) < 1:
            raise ValueError(f"{name} must be [N >= 1, D] features, got shape {x.shape}")
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"feature sizes differ: {real.shape[1]} vs {fake.shape[1]}")
    real, fake = _balanced(real, fake, seed)
    n = len(real)
    if n < 2:
        raise ValueError("need at least 2 points a side (a lone real point has no real neighbour to find)")
    is_fake = np.arange(2 * n) >= n
    same = is_fake[_nearest_other(np.concatenate([real, fake]))] == is_fake
    real_side, fake_side = float(same[:n].mean()), float(same[n:].mean())
    return {"accuracy": (real_side + fake_side) / 2, "real_side": real_side, "fake_side": fake_side,
            "num_per_side": n}
