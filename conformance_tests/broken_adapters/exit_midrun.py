"""Wrong on purpose: exits in the middle of the run, on one case (BROKEN_CASE)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _base import serve  # noqa: E402

TARGET = os.environ.get("BROKEN_CASE", "consultations-reference.g-s1-2025")


def before(case):
    if case["id"] == TARGET:
        print("adaptateur : arrêt brutal", file=sys.stderr, flush=True)
        os._exit(3)


serve("broken-exit", before=before)
