"""Evaluation: likelihoods and bounds, feature-space distances, a memorisation audit, figures.

`python -m genzoo.tools.evaluate` puts them together for one trained run; see
docs/evaluation.md for what each number means and how noisy it is.
"""
