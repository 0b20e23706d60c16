"""Calibration of every sample-quality metric on controlled sets (issue 15, item 4).

  nice -n 5 python tools/calibrate.py --data_dir=/work/shared/data/pokemon --out=/tmp/calibration \
      [--num=500] [--seeds=0,1,2] [--features_dir=~/.cache/genzoo/features]

The "generated" side of every row is built from the TRAINING images (a fresh seeded
draw of --num per seed), never from the held-out images themselves: a corrupted copy of
a held-out image is paired with its original, which a classifier or a nearest
neighbour finds (docs/evaluation.md, the paired-set pitfall). Each set is scored
against all held-out images exactly as `python -m genzoo.tools.evaluate` scores samples,
with genzoo.evaluation's own functions:

* C2ST (`two_sample.c2st`, its seeds = --seeds) on the first seed's set, with the 99% chance band;
* two-sided leave-one-out 1-NN accuracy (`two_sample.nearest_neighbour_accuracy`) in pixel
  space and in the feature space of genzoo's reproducible classifier, per seed;
* Fréchet distance, KID, precision and recall (`evaluation.sample_quality`), per seed;
* the near-copy share of the memorisation audit (`memorisation.audit`), first seed.

Each set has a "tier", how far from real sprites a person looking at the set would put it
(0 real ... 4 broken; `SETS` below). For every metric the script counts the pairs of sets
in different tiers that the metric puts in the same order (the share is 1.0 when every
set of a worse tier scores worse than every set of a better one) and lists the pairs it
inverts. Writes OUT/calibration.json (everything, per seed), OUT/calibration.md and\nOUT/calibration_sets.png (ten images of each set, one row per set, in table order).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))  # run from a checkout

import numpy as np

# --- The controlled corruptions (uint8 RGB [N, H, W, 3] in, same out) ---------------------------

def box_blur(x: np.ndarray) -> np.ndarray:
    """3x3 box blur, edges repeated."""
    p = np.pad(x.astype(np.float64), ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")
    out = sum(p[:, i:i + x.shape[1], j:j + x.shape[2]] for i in range(3) for j in range(3)) / 9
    return np.round(out).astype(np.uint8)


def pixel_noise(x: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Independent Gaussian noise of `sigma` grey levels on every channel value, clipped."""
    return np.clip(np.round(x + rng.normal(0, sigma, x.shape)), 0, 255).astype(np.uint8)


def colour_shift(x: np.ndarray) -> np.ndarray:
    """Red up, blue down by 24 levels (clipped): a tint."""
    return np.clip(x.astype(int) + [24, 0, -24], 0, 255).astype(np.uint8)


# name -> (tier, builder(train, num, rng) -> set). Tiers: how a person looking at the sets
# (calibration_sets.png) judges them: 0 real sprites; 1 real sprites with a change hard to
# see (mirrored, faint speckle); 2 sprites visibly altered but intact (a cream tint);
# 3 sprites clearly degraded (blurred, heavy colour speckle); 4 no sprites or no variety.
def _draw(train, num, rng, replace=False):
    return train[rng.choice(len(train), num, replace=replace)]


SETS = {
    "training images (the floor)": (0, lambda t, n, r: _draw(t, n, r)),
    "training copies, drawn with replacement": (0, lambda t, n, r: _draw(t, n, r, replace=True)),
    "training flipped left-right": (1, lambda t, n, r: _draw(t, n, r)[:, :, ::-1]),
    "training + pixel noise σ 8": (1, lambda t, n, r: pixel_noise(_draw(t, n, r), 8, r)),
    "training colour-shifted (R+24, B−24)": (2, lambda t, n, r: colour_shift(_draw(t, n, r))),
    "training + pixel noise σ 32": (3, lambda t, n, r: pixel_noise(_draw(t, n, r), 32, r)),
    "training 3x3 blur": (3, lambda t, n, r: box_blur(_draw(t, n, r))),
    "one training image repeated (collapse)": (4, lambda t, n, r: np.repeat(_draw(t, 1, r), n, 0)),
    "the per-pixel mean image repeated": (4, lambda t, n, r: np.repeat(
        np.round(t.astype(np.float64).mean(0)).astype(np.uint8)[None], n, 0)),
    "uniform noise": (4, lambda t, n, r: r.integers(0, 256, (n, *t.shape[1:]), dtype=np.uint8)),
}

# metric -> (label, one row's value, that value's noise (one standard deviation), +1 if larger is
# worse, -1 if smaller is worse). Noise: for C2ST and 1-NN the binomial standard deviation of an
# accuracy over their 2n (a side: n) predictions at 0.5; for the feature scores the spread over
# seeds (the held-out side is the same for every seed, so this is a lower bound).
def _binomial(trials):
    return lambda r: 0.5 / np.sqrt(trials(r))


def _nn(space, key):
    return lambda r: r[space][key]["mean"]


_C2ST_TRIALS = lambda r: 2 * r["c2st"]["num_per_side"]
_NN_TRIALS = lambda r: 2 * r["nn_num_per_side"]
_SIDE_TRIALS = lambda r: r["nn_num_per_side"]
METRICS = {
    "c2st": ("C2ST accuracy", lambda r: r["c2st"]["accuracy"], _binomial(_C2ST_TRIALS), 1),
    "c2st_pixels_only": ("C2ST, pixels only (before the pixel statistics)",
                         lambda r: r["c2st_pixels_only"]["accuracy"], _binomial(_C2ST_TRIALS), 1),
    "nn_pixels": ("1-NN accuracy, pixels", _nn("nn_pixels", "accuracy"), _binomial(_NN_TRIALS), 1),
    "nn_features": ("1-NN accuracy, features", _nn("nn_features", "accuracy"), _binomial(_NN_TRIALS), 1),
    "nn_pixels_fake_side": ("1-NN fake side, pixels", _nn("nn_pixels", "fake_side"), _binomial(_SIDE_TRIALS), 1),
    "nn_features_fake_side": ("1-NN fake side, features", _nn("nn_features", "fake_side"),
                              _binomial(_SIDE_TRIALS), 1),
    "frechet_distance": ("FD", lambda r: r["quality"]["frechet_distance"]["mean"],
                         lambda r: r["quality"]["frechet_distance"]["std"], 1),
    "kid": ("KID", lambda r: r["quality"]["kid"]["mean"], lambda r: r["quality"]["kid"]["std"], 1),
    "precision": ("precision", lambda r: r["quality"]["precision"]["mean"],
                  lambda r: r["quality"]["precision"]["std"], -1),
    "recall": ("recall", lambda r: r["quality"]["recall"]["mean"], lambda r: r["quality"]["recall"]["std"], -1),
}


def set_for_seed(name: str, train: np.ndarray, num: int, seed: int) -> np.ndarray:
    _tier, build = SETS[name]
    index = list(SETS).index(name)
    return build(train, num, np.random.default_rng([seed, index]))


def _spread(values) -> dict:
    return {"mean": float(np.mean(values)), "std": float(np.std(values)), "per_seed": [float(v) for v in values]}


def score_set(name, train_rgb, heldout_rgb, heldout_features, extractor, num, seeds) -> dict:
    from genzoo.evaluation import memorisation, sample_quality, two_sample

    start = time.monotonic()
    sets = {seed: set_for_seed(name, train_rgb, num, seed) for seed in seeds}
    row = {"tier": SETS[name][0], "num": num}
    row["quality"] = sample_quality(extractor, heldout_rgb, lambda s: sets[s], seeds, real_features=heldout_features)
    # C2ST as the evaluate tool runs it: the first seed's set, one cross-validation per seed.
    row["c2st"] = two_sample.c2st(heldout_rgb, sets[seeds[0]], seeds=tuple(seeds))
    row["c2st"]["chance_band_99"] = two_sample.chance_band(2 * row["c2st"]["num_per_side"], alpha=0.01)
    # The same test without the per-image pixel statistics: the classifier of the first calibration.
    row["c2st_pixels_only"] = two_sample.c2st(heldout_rgb, sets[seeds[0]], seeds=tuple(seeds), statistics=False)
    for space, real, embed in (("nn_pixels", two_sample.pixel_features(heldout_rgb), two_sample.pixel_features),
                               ("nn_features", heldout_features, extractor)):
        per_seed = [two_sample.nearest_neighbour_accuracy(real, embed(sets[s]), seed=s) for s in seeds]
        row[space] = {key: _spread([p[key] for p in per_seed]) for key in ("accuracy", "real_side", "fake_side")}
        row["nn_num_per_side"] = per_seed[0]["num_per_side"]
    audit = memorisation.audit(sets[seeds[0]], train_rgb, heldout_rgb)
    row["near_copy_share"] = float(memorisation.summary(audit)["near_copy_share"])
    row["seconds"] = round(time.monotonic() - start, 1)
    return row


def ordering(rows: dict) -> dict:
    """Per metric: how it orders the pairs of sets in different tiers, against the person's order.

    `share_in_order`: pairs in the person's order (a tie counts half). `inverted`: pairs in the
    opposite order by more than twice the noise of the difference (2 sqrt(s_a^2 + s_b^2)), i.e.
    a clear disagreement; `unresolved`: pairs closer than that, in either order (the metric
    does not separate them at this sample size).
    """
    result = {}
    for key, (label, read, noise, sign) in METRICS.items():
        agree, pairs, inverted, unresolved = 0.0, 0, [], []
        for a, b in itertools.combinations(rows, 2):
            ta, tb = rows[a]["tier"], rows[b]["tier"]
            if ta == tb:
                continue
            worse, better = (a, b) if ta > tb else (b, a)
            diff = sign * (read(rows[worse]) - read(rows[better]))
            pairs += 1
            agree += 1.0 if diff > 0 else 0.5 if diff == 0 else 0.0
            if abs(diff) <= 2 * np.hypot(noise(rows[worse]), noise(rows[better])):
                unresolved.append([worse, better])
            elif diff < 0:
                inverted.append([worse, better])
        result[key] = {"label": label, "share_in_order": agree / pairs, "pairs": pairs, "inverted": inverted,
                       "unresolved": unresolved}
    return result


def _pm(entry: dict, digits: int) -> str:
    return f"{entry['mean']:.{digits}f} ± {entry['std']:.{digits}f}"


def markdown(rows: dict, order: dict, meta: dict) -> str:
    lines = [
        (f"Real side: the {meta['num_heldout']} held-out `pokemon` sprites. Generated side: {meta['num']} images per "
        f"seed built from the {meta['num_train']} training sprites (never from the held-out ones), seeds "
        f"{meta['seeds']}. C2ST: the first seed's set, {meta['c2st_folds']}-fold CV per seed, "
        f"{meta['c2st_num_per_side']} images a side (chance band ±{meta['chance_band_99']:.3f}); other columns: "
        "mean ± spread over seeds. Features: genzoo's classifier "
        f"`{meta['features'].get('dataset')}-{str(meta['features'].get('key', '?'))[:8]}-v{meta['features'].get('version')}` "
        f"(weights sha256 `{meta['features'].get('weights_sha256', '?')}`)."),
        "",
        ("| tier | generated side | C2ST acc ± std | p | C2ST pixels only | 1-NN pixels: acc / real / fake side "
         "| 1-NN features: acc / real / fake side | FD | KID | precision | recall | near-copies |"),
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, row in rows.items():
        c2st, q = row["c2st"], row["quality"]
        nn = [" / ".join(f"{row[s][k]['mean']:.3f}" for k in ("accuracy", "real_side", "fake_side"))
              for s in ("nn_pixels", "nn_features")]
        lines.append(
            f"| {row['tier']} | {name} | {c2st['accuracy']:.3f} ± {c2st['std']:.3f} | {c2st['p_value']:.1g} "
            f"| {row['c2st_pixels_only']['accuracy']:.3f} | {nn[0]} | {nn[1]} | {_pm(q['frechet_distance'], 1)} | {_pm(q['kid'], 3)} "
            f"| {_pm(q['precision'], 3)} | {_pm(q['recall'], 3)} | {row['near_copy_share']:.0%} |")
    lines += ["", ("| metric | cross-tier pairs in the person's order | clearly inverted (worse set scored better "
                   "by > 2 noise sd) | not separated (within 2 noise sd) |"), "| --- | --- | --- | --- |"]
    for entry in order.values():
        inverted = "; ".join(f"{w} < {b}" for w, b in entry["inverted"]) or "none"
        lines.append(f"| {entry['label']} | {entry['share_in_order']:.2f} of {entry['pairs']} | {inverted} "
                     f"| {len(entry['unresolved'])} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data_dir", default=None, help="Local copy of the Pokémon files (else downloaded).")
    parser.add_argument("--tfds_dir", default=None)
    parser.add_argument("--dataset", default="pokemon")
    parser.add_argument("--out", default="calibration")
    parser.add_argument("--num", type=int, default=500, help="Generated-side images per seed (the tool's default).")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--features_dir", default=None, help="genzoo's classifiers (default: the evaluate tool's).")
    parser.add_argument("--only", default="", help="Comma-separated substrings: score only the matching sets.")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    if args.num < 2 or not seeds:
        parser.error("--num must be >= 2 and --seeds non-empty")

    from genzoo import data
    from genzoo.evaluation import DEFAULT_FEATURES_DIR, two_sample
    from genzoo.evaluation import features as feats

    load = {"data_dir": args.data_dir, "tfds_dir": args.tfds_dir}
    train_ds, spec = data.load(args.dataset, "train", **load)
    heldout_ds, _ = data.load(args.dataset, "test", **load)
    train, train_labels = feats.arrays(train_ds)
    heldout, _ = feats.arrays(heldout_ds)
    to_rgb = lambda x: data.to_rgb_uint8(x, spec).numpy()
    train_rgb, heldout_rgb = to_rgb(train), to_rgb(heldout)
    extractor = feats.dataset_extractor(args.features_dir or DEFAULT_FEATURES_DIR, args.dataset, spec,
                                        train=(train, train_labels), verbose=1, **load)
    heldout_features = extractor(heldout_rgb)
    os.makedirs(args.out, exist_ok=True)
    names = [n for n in SETS if not args.only or any(o in n for o in args.only.split(","))]
    if not names:
        parser.error(f"--only={args.only} matches no set; the sets: {'; '.join(SETS)}")
    started, load_before = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), os.getloadavg()
    # What the sets look like: one row of 10 images per set (the first seed's draw), in table order.
    from genzoo import images

    tiles = np.concatenate([set_for_seed(name, train_rgb, args.num, seeds[0])[:10] for name in names])
    images.save_png(os.path.join(args.out, "calibration_sets.png"),
                    images.grid(tiles, columns=10, scale=images.auto_scale(spec.height)))
    rows = {}
    for name in names:
        rows[name] = score_set(name, train_rgb, heldout_rgb, heldout_features, extractor, args.num, seeds)
        r = rows[name]
        print(f"{name}: C2ST {r['c2st']['accuracy']:.3f}, FD {r['quality']['frechet_distance']['mean']:.2f}, "
              f"KID {r['quality']['kid']['mean']:.3f} ({r['seconds']} s, load {os.getloadavg()[0]:.1f})", flush=True)
    order = ordering(rows) if len({r["tier"] for r in rows.values()}) > 1 else {}
    first = next(iter(rows.values()))
    meta = {"command": " ".join(["python", *sys.argv]), "started": started,
            "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "load_before": [round(v, 2) for v in load_before], "load_after": [round(v, 2) for v in os.getloadavg()],
            "cpu_count": os.cpu_count(), "dataset": args.dataset, "num": args.num, "seeds": seeds,
            "num_train": len(train_rgb), "num_heldout": len(heldout_rgb), "features": extractor.record,
            "c2st_folds": first["c2st"]["folds"], "c2st_num_per_side": first["c2st"]["num_per_side"],
            "chance_band_99": two_sample.chance_band(2 * first["c2st"]["num_per_side"], alpha=0.01)}
    with open(os.path.join(args.out, "calibration.json"), "w") as f:
        json.dump({"meta": meta, "rows": rows, "ordering": order}, f, indent=1)
    with open(os.path.join(args.out, "calibration.md"), "w") as f:
        f.write(markdown(rows, order, meta))
    print(markdown(rows, order, meta))
    return 0


if __name__ == "__main__":
    sys.exit(main())
