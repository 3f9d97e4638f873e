"""Check that quotes occur in the seed documents, whitespace-normalised.

Normalisation: `[bookmark: ...]` markers (Word export debris in 004) are removed,
then every run of whitespace (spaces, line breaks, non-breaking spaces) becomes one
space. Nothing else is changed: apostrophes, accents and punctuation must match.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

_BOOKMARK = re.compile(r"\[bookmark: [^\]]*\]")
_WS = re.compile(r"\s+")


def normalise(text: str) -> str:
    return _WS.sub(" ", _BOOKMARK.sub(" ", text)).strip()


@lru_cache(maxsize=16)
def _seed_text(path: str) -> str:
    return normalise(Path(path).read_text(encoding="utf-8"))


def quote_in_seed(quote: str, seed_path: Path) -> bool:
    return normalise(quote) in _seed_text(str(seed_path))
