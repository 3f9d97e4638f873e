"""Wrong on purpose: keeps pricing G at 25.00 after the 22 December 2024 revaluation (30 €)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _base import retotal, serve  # noqa: E402


def mutate(case, result):
    if case["kind"] != "claim" or case["input"]["date"] < "2024-12-22":
        return result
    for line in result["lines"]:
        if line["code"] == "G" and line["status"] == "priced":
            line.update(amount="25.00", unit_value="25.00")
    return retotal(result)


serve("broken-g-25", mutate=mutate)
