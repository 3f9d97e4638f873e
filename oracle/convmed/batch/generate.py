"""Deterministic claim generator, shared by the benchmarks and the tests.

`generate_claims(n, seed)` yields schema-valid claims built from the spec itself: real act codes
(with the line fields their pricing method reads), dates on, just before and just after the
effective dates the spec contains, patient ages on and around the age bounds of the conditions
(given as a birth date one day either side of the birthday, or as age_years), every context fact
of the claim schema with its enum values and integers around the spec's bounds, and optionally a
history of earlier acts (for the frequency limits). Same seed, same claims.

`profile="national"` draws a more realistic mix (a year of activity, consultations dominating):
that is what the batch benchmark prices; `profile="varied"` (default) spreads over every code,
date and fact, for agreement tests.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from convmed.batch.signature import analyse, schema_leaves


class ClaimGenerator:
    def __init__(self, spec=None, seed: int = 0, profile: str = "varied", history_rate: float = 0.05):
        from convmed.model import load_spec

        self.spec = spec or load_spec()
        self.rng = random.Random(seed)
        self.profile = profile
        self.history_rate = history_rate
        self.analysis = analyse(self.spec, probe=False)
        self.leaves, _ = schema_leaves()
        import re

        billable = re.compile(r"^[A-Z0-9][A-Z0-9_]{0,19}$")  # the claim schema's pattern for a line code
        acts = sorted((c for c in self.spec.acts_by_code.values() if billable.match(c.data["code"])),
                      key=lambda c: c.data["code"])
        self.codes = [c.data["code"] for c in acts]
        self.pricing = {c.data["code"]: c.data.get("pricing", "fixed") for c in acts}
        self.category = {c.data["code"]: c.data.get("category") for c in acts}
        self.main = [c for c in self.codes if self.category[c] in ("consultation", "visite", "avis", "acte_technique")] \
            or self.codes
        self.extra = [c for c in self.codes if c not in self.main] or self.codes
        self.specialties = sorted(self.spec.vocabulary("specialties")) or ["medecine_generale"]
        self.coefficients = sorted({v for c in self.spec.concepts.values() if c.kind in ("act", "rule")
                                    for v in _operands(c.data, "line.coefficient")}) or ["1"]
        lo, hi = date(2016, 1, 1), date(2027, 12, 31)
        self.dates = [d for d in self.analysis.breakpoints if lo <= d <= hi] or [date(2025, 1, 10)]
        self.age_bounds = self.analysis.bounds.get("patient.age_years", [16])
        self.hour_bounds = self.analysis.bounds.get("encounter.hour", [8, 20])
        # national profile: a year of activity, the most common acts first
        common = [c for c in ("G", "GS", "C", "CS", "APC", "COE", "VG", "MEG", "G+MEG") if c in self.codes]
        self.common = common or self.main[:5]

    # ------------------------------------------------------------------ pieces
    def _date(self) -> date:
        r = self.rng
        if self.profile == "national":
            return date(2025, 1, 1) + timedelta(days=r.randrange(365))
        d = r.choice(self.dates)
        return d + timedelta(days=r.choice((-1, 0, 0, 1, r.randint(-400, 400))))

    def _age(self) -> int:
        r = self.rng
        if r.random() < 0.6:
            return max(0, min(110, r.choice(self.age_bounds) + r.choice((-1, 0, 0, 1))))
        return r.randint(0, 100)

    def _birth(self, on: date, age: int) -> date:
        """A birth date giving `age` completed years on `on`, one day either side of the birthday."""
        year = on.year - age
        try:
            birthday = on.replace(year=year)
        except ValueError:  # 29 February
            birthday = date(year, 2, 28)
        shift = self.rng.choice((-1, 0, 1, -40, 40))
        birth = birthday + timedelta(days=shift)
        return min(birth, on)

    def _value(self, leaf, on: date):
        r = self.rng
        if leaf.kind == "bool":
            return r.random() < 0.5
        if leaf.kind == "int":
            fact = self.analysis.pointers.get(leaf.pointer)
            bounds = self.analysis.bounds.get(fact) if fact else None
            lo = leaf.minimum if leaf.minimum is not None else 0
            hi = leaf.maximum if leaf.maximum is not None else 100
            v = (r.choice(bounds) + r.choice((-1, 0))) if bounds and r.random() < 0.7 else r.randint(lo, min(hi, 60))
            return max(lo, min(hi, v))
        if leaf.enum:
            return r.choice(leaf.enum)
        return f"{leaf.path[-1]}-{r.randrange(1000)}"

    def _lines(self) -> list[dict]:
        r = self.rng
        if self.profile == "national":  # most encounters: one common act, sometimes one common majoration
            codes = [r.choice(self.common) if r.random() < 0.9 else r.choice(self.main)]
            if r.random() < 0.3:
                codes.append(r.choice(self.extra[:12]) if r.random() < 0.9 else r.choice(self.extra))
        else:
            codes = [r.choice(self.main)]
            for _ in range(r.choice((0, 0, 1, 1, 2))):
                codes.append(r.choice(self.extra if r.random() < 0.8 else self.codes))
        lines = []
        for i, code in enumerate(codes):
            line = {"code": code}
            method = self.pricing.get(code, "fixed")
            if r.random() < (0.05 if self.profile == "national" else 0.3):
                line["tarif_opposable"] = r.random() < 0.5
            if method == "per_quantity":
                line["quantity"] = r.choice(("1", "2", "4.5", "10", "25.25"))
            elif method == "coefficient":
                line["coefficient"] = r.choice(self.coefficients + ["1.00", "0.50"])
            elif method in ("percent_cap", "declared"):
                line["amount"] = r.choice(("0.00", "5.00", "12.50", "20.00", "35.00", "60.00"))
            elif method == "external_base" and r.random() < 0.8:
                line["base_amount"] = r.choice(("25.00", "41.80", "69.12", "125.40", "300.00"))
            elif method == "percent_of_base":
                if i > 0 and r.random() < 0.6:
                    line["modifies"] = 0
                elif r.random() < 0.7:
                    line["base_amount"] = r.choice(("41.80", "96.00", "150.00"))
            lines.append(line)
        return lines

    # ------------------------------------------------------------------ one claim
    def claim(self, i: int) -> dict:
        r = self.rng
        on = self._date()
        national = self.profile == "national"
        claim: dict = {"id": f"c{i}", "date": on.isoformat()}
        if r.random() < (0.1 if national else 0.3):
            h = r.choice(self.hour_bounds) + r.choice((-1, 0)) if r.random() < 0.6 else r.randint(0, 23)
            claim["time"] = f"{max(0, min(23, h)):02d}:{r.choice((0, 30, 59)):02d}"
        if r.random() < (0.05 if national else 0.15):
            claim["territory"] = r.choice(["guadeloupe", "martinique", "guyane", "reunion", "mayotte"])
        doctor = {"specialty": "medecine_generale" if national and r.random() < 0.6 else r.choice(self.specialties),
                  "sector": r.choice(("S1", "S1", "S1", "S2", "DP"))}
        patient: dict = {}
        context: dict = {}
        for leaf in self.leaves:
            top = leaf.path[0]
            if top == "doctor" and leaf.name not in ("doctor.specialty", "doctor.sector"):
                if r.random() < (0.03 if national else 0.4):
                    _put(doctor, leaf.path[1:], self._value(leaf, on))
            elif top == "context" and r.random() < (0.005 if national else 0.12):
                _put(context, leaf.path[1:], self._value(leaf, on))
            elif top == "patient" and leaf.name not in ("patient.birth_date", "patient.age_years"):
                if r.random() < (0.05 if national else 0.35):
                    _put(patient, leaf.path[1:], self._value(leaf, on))
        age_mode = r.random()
        if age_mode < 0.6:
            patient["birth_date"] = self._birth(on, self._age()).isoformat()
        elif age_mode < 0.9:
            patient["age_years"] = self._age()
        claim["doctor"] = doctor
        if patient:
            claim["patient"] = patient
        if context:
            claim["context"] = context
        claim["lines"] = self._lines()
        if r.random() < self.history_rate:
            claim["history"] = [{"date": (on - timedelta(days=r.randint(0, 400))).isoformat(),
                                 "code": r.choice(self.codes),
                                 **({"patient_id": patient["id"]} if "id" in patient and r.random() < 0.7 else {})}
                                for _ in range(r.randint(1, 4))]
        return claim


def _put(node: dict, path: tuple, value) -> None:
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value


def _operands(node, fact: str):
    if isinstance(node, dict):
        if node.get("fact") == fact:
            for k, v in node.items():
                if k != "fact":
                    yield from (x for x in (v if isinstance(v, list) else [v]) if isinstance(x, str))
        for v in node.values():
            yield from _operands(v, fact)
    elif isinstance(node, list):
        for v in node:
            yield from _operands(v, fact)


def generate_claims(n: int, seed: int = 0, *, spec=None, profile: str = "varied", history_rate: float = 0.05):
    gen = ClaimGenerator(spec, seed, profile, history_rate)
    for i in range(n):
        yield gen.claim(i)


def write_jsonl(path, n: int, seed: int = 0, **kw) -> None:
    from convmed.yamlio import json_line

    with open(path, "w", encoding="utf-8") as fh:
        for claim in generate_claims(n, seed, **kw):
            fh.write(json_line(claim, separators=(",", ":")))
