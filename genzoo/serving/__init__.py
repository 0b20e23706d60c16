"""Serving: signatures built from declared capabilities, request checks, atomic versioned exports.

No model imports this package, and it imports no registry: it is handed a model.
"""

from genzoo.serving.signatures import image_outputs, image_spec, signatures
from genzoo.serving.writer import (
           DEFAULT_MAX_NUM_SAMPLES,
           METADATA_FILE,
           export,
           read_metadata,
           versions,
)

__all__ = ["DEFAULT_MAX_NUM_SAMPLES", "METADATA_FILE", "export", "image_outputs", "image_spec", "read_metadata",
           "signatures", "versions"]
