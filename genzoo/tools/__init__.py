"""Command-line tools: `python -m genzoo.tools.train|sample`."""
