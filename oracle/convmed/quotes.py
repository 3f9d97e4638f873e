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
SEED_MAX_BYTES = 64 * 1024 * 1024   # the longest seed is under 1 MB


def normalise(text: str) -> str:
    return _WS.sub(" ", _BOOKMARK.sub(" ", text)).strip()


@lru_cache(maxsize=32)
def _seed_text(path: str, fold_case: bool = False) -> str:
    from convmed.infiles import decode_utf8, read_bounded

    text = normalise(decode_utf8(read_bounded(path, SEED_MAX_BYTES), str(path)))
    return text.casefold() if fold_case else text


def quote_in_seed(quote: str, seed_path: Path, *, fold_case: bool = False) -> bool:
    """Quotes must match exactly; headings (fold_case) may differ in case, as slide titles are often upper-cased."""
    needle = normalise(quote)
    return (needle.casefold() if fold_case else needle) in _seed_text(str(seed_path), fold_case)
