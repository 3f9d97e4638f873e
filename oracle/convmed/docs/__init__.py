"""The documentation site generated from the spec (`convmed docs build`, mkdocs hook)."""
