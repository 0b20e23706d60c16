"""genzoo: deep generative image models for TensorFlow/Keras. See BUILD.md."""

import re
from pathlib import Path

from setuptools import find_packages, setup

version = re.search(r'__version__ = "([^"]+)"', Path("genzoo/__init__.py").read_text()).group(1)

setup(
    name="genzoo",
    version=version,
    description="A model zoo of deep generative image models (PixelRNN, VAE, GAN) for TensorFlow/Keras",
    long_description=Path("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["genzoo", "genzoo.*"]),
    package_data={"genzoo.data.pokemon": ["checksums.tsv"], "genzoo.presets": ["*.json", "*.npz"]},
    install_requires=[
        "tensorflow>=2.16",
        "keras>=3.14",  # earlier versions have published safe_mode bypasses
        "tensorflow-datasets>=4.9",
        "importlib_resources",  # TFDS custom builders import it but TFDS 4.9.10 does not install it
        "tensorboard",  # tf.summary needs it; TF 2.21 no longer installs it
        "absl-py",
        "numpy",
        # TensorFlow's own dependency, capped: 0.7.0 takes 1.2 s to import (0.6.0: 0.01 s), paid by every
        # command (BUILD.md, "Start-up time").
        "ml_dtypes>=0.5.1,<0.7",
    ],
    extras_require={"test": ["pytest>=7", "pytest-xdist", "ruff>=0.17.6,<0.18"]},
)
