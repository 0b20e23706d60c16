"""Class control of a trained `cvae` with z from its prior and from code mixtures of K components
(docs/vae.md, "Class control on `shapes`").

  python tools/code_mixture_ablation.py runs/cvae_shapes [runs/other ...] [--components=0,1,5,10,20,50]
  python tools/code_mixture_ablation.py preset:vae_pokemon --components=0,10 --c2st=500 --data_dir=../shared/data/pokemon

For each run (its best checkpoint) or `preset:NAME` and each K: a copy of the model with `code_mixture=K` (0: z from
the prior), its mixture fitted to the training split as the training loop does, then
`genzoo.evaluation.class_control` with evaluate's classifier for the run's dataset
(`--per_class` samples per class, sampling `--seed`; conditional models only); with `--c2st=N`, also the two-sample test of
N samples (the classes in turn) against the held-out images, as evaluate runs it for one seed. Only the mixture changes between the rows of
one run: the encoder and decoder weights are the checkpoint's.
"""

from __future__ import annotations

import argparse
import json
import sys


def with_mixture(model, components: int):
    """A copy of `model` whose z comes from a fitted `components`-mixture per class (0: the prior)."""
    from genzoo.models import registry

    copy = registry.get(model.registered_name()).from_config({**model.get_config(), "code_mixture": components})
    own = [w for w in model.weights if not w.path.split("/")[-1].startswith("code_")]
    rest = [w for w in copy.weights if not w.path.split("/")[-1].startswith("code_")]
    for target, source in zip(rest, own, strict=True):
        target.assign(source)
    return copy


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--components", default="0,1,5,10,20,50")
    parser.add_argument("--per_class", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data_dir", default=None)
    parser.add_argument("--c2st", type=int, default=0)
    args = parser.parse_args(argv)
    from genzoo import data, files, presets
    from genzoo.evaluation import features, two_sample
    from genzoo.evaluation.class_control import class_control
    from genzoo.training import runs

    for run in args.runs:
        if run.startswith("preset:"):
            name = run.partition(":")[2]
            model, config = presets.load(name), presets.card(name)
        else:
            model, config = runs.load_model(run, "best")
        train = config["train"]
        load = {"encoding": train["encoding"], "data_dir": args.data_dir or train["data_dir"],
                "tfds_dir": train["tfds_dir"]}
        train_ds, spec = data.load(train["dataset"], "train", **load)
        extractor = features.dataset_extractor(files.DEFAULT_FEATURES_DIR, train["dataset"], spec,
                                               train=features.arrays(train_ds), **load)
        to_rgb = lambda x, spec=spec: data.to_rgb_uint8(x, spec).numpy()
        heldout = to_rgb(features.arrays(data.load(train["dataset"], "test", **load)[0])[0])
        for k in (int(c) for c in args.components.split(",")):
            variant = with_mixture(model, k)
            if k:
                variant.fit_code_mixture(train_ds)
            row = {"run": run, "components": k}
            if variant.conditional:
                result = class_control(variant, extractor.classify, to_rgb, spec.num_classes, args.per_class,
                                       args.seed)
                row.update(class_control=round(result["accuracy"], 3), per_class=result["per_class"])
            if args.c2st:
                samples = to_rgb(variant.sample(args.c2st, args.seed))
                row["c2st"] = round(two_sample.c2st(heldout, samples, seeds=(args.seed,))["accuracy"], 3)
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    sys.exit(main())
