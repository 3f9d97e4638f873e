"""Wrong on purpose: takes « moins de 6 ans » as « 6 ans ou moins » and adds MEG (5.00) for a 6-year-old."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _base import retotal, serve  # noqa: E402

from convmed.facts import completed_years  # noqa: E402


def age(claim):
    from datetime import date

    patient = claim.get("patient") or {}
    if "birth_date" in patient:
        return completed_years(date.fromisoformat(patient["birth_date"]), date.fromisoformat(claim["date"]))
    return patient.get("age_years")


def mutate(case, result):
    if case["kind"] != "claim" or age(case["input"]) != 6:
        return result
    for line in result["lines"]:
        if line["code"] == "MEG" and line.get("reason") == "AGE_NOT_ELIGIBLE":
            for key in ("reason", "message", "instead"):
                line.pop(key, None)
            line.update(status="priced", amount="5.00", unit_value="5.00")
    return retotal(result)


serve("broken-meg-six-years", mutate=mutate)
