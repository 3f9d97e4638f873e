"""Wrong on purpose: never answers one case (BROKEN_CASE, default consultations-reference.g-s1-2025)."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _base import serve  # noqa: E402

TARGET = os.environ.get("BROKEN_CASE", "consultations-reference.g-s1-2025")


def before(case):
    if case["id"] == TARGET:
        time.sleep(3600)


serve("broken-hang", before=before)
