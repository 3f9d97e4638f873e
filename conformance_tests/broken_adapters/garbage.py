"""Wrong on purpose: prints garbage instead of a JSON answer on one case (BROKEN_CASE)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _base import serve  # noqa: E402

TARGET = os.environ.get("BROKEN_CASE", "consultations-reference.g-s1-2025")


def before(case):
    if case["id"] == TARGET:
        sys.stdout.write("Traceback (most recent call last): ceci n'est pas du JSON\n")
        sys.stdout.flush()


serve("broken-garbage", before=before)
