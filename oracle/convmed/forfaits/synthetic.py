"""Synthetic patientèles for tests and benchmarks (deterministic, written as JSON Lines).

Not data from the seeds: random but plausible records (ages, sex, ALD, C2S, seen,
dated care events) exercising every branch of the FMT socle and prevention indicators.
"""

from __future__ import annotations

import json
import random
from datetime import date, timedelta

EVENT_TYPES = ["flu_vaccine_delivery", "covid_vaccine_administration", "pneumococcal_vpc20_delivery",
               "mammography_screening", "cervical_cytology", "hpv_hr_test", "colorectal_fit_test",
               "fasting_glycaemia", "kidney_tests", "hba1c", "dental_exam", "coe_exam", "mmr_vaccine_delivery"]


def patient(rng: random.Random, i: int, year: int) -> dict:
    ref = date(year, 12, 31)
    age_days = rng.randint(0, 100 * 365)
    birth = ref - timedelta(days=age_days)
    rec = {"id": f"p{i}", "birth_date": birth.isoformat(), "sex": rng.choice("FM")}
    if rng.random() < 0.2:
        rec["ald"] = sorted(rng.sample(range(1, 31), rng.randint(1, 2)))
    if rng.random() < 0.08:
        rec["c2s"] = True
    rec["seen_last_two_years"] = rng.random() < 0.9
    events = []
    for _ in range(rng.randint(0, 4)):
        d = ref - timedelta(days=rng.randint(0, 5 * 365))
        if d < birth:
            continue
        if rng.random() < 0.2:
            events.append({"type": "drug_delivery", "date": d.isoformat(), "atc": rng.choice(["R03AC02", "A10BA02", "N02BE01"])})
        else:
            events.append({"type": rng.choice(EVENT_TYPES), "date": d.isoformat()})
    if events:
        rec["events"] = events
    return rec


def write_jsonl(path: str, n: int, year: int = 2026, seed: int = 4) -> None:
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            f.write(json.dumps(patient(rng, i, year), separators=(",", ":")))
            f.write("\n")
