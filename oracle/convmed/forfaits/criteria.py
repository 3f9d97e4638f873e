"""Patient criteria of spec/indicator (and of table cells): three-valued evaluation.

evaluate(criterion, patient) -> True, False or None (unknown: a fact the record does not
give, e.g. the age in months without a birth date). `all` is False as soon as one part
is False, `any` True as soon as one part is True; otherwise an unknown part makes the
whole unknown. Ages are taken at the reference date R (31/12 of the year). Windows:
`months`/`years` = [R - duration, R] (both ends included), `since` = [date, R],
`campaign` = [start of the campaign running at R, R].
"""

from __future__ import annotations

import calendar
from datetime import date

from convmed.facts import completed_months, completed_years


def _minus(d: date, years: int = 0, months: int = 0) -> date:
    total = d.year * 12 + (d.month - 1) - years * 12 - months
    y, m = divmod(total, 12)
    m += 1
    return date(y, m, min(d.day, calendar.monthrange(y, m)[1]))


class PatientView:
    """One patient record seen at the reference date, with cached derived values."""

    __slots__ = ("rec", "ref", "birth", "_age_years", "_age_months", "ald", "flags", "_events", "seen")

    def __init__(self, rec: dict, ref: date):
        self.rec = rec
        self.ref = ref
        b = rec.get("birth_date")
        self.birth = date.fromisoformat(b) if b else None
        if self.birth is not None:
            self._age_years = completed_years(self.birth, ref)
        else:
            self._age_years = rec.get("age")
        self._age_months = -1
        self.ald = rec.get("ald") or ()
        self.flags = rec.get("flags") or ()
        self._events = None
        if "seen_last_two_years" in rec:
            self.seen = rec["seen_last_two_years"]
        elif "last_seen_date" in rec:
            last = date.fromisoformat(rec["last_seen_date"])
            self.seen = _minus(ref, years=2) <= last <= ref
        else:
            self.seen = None

    @property
    def age_years(self):
        return self._age_years

    @property
    def age_months(self):
        if self._age_months == -1:
            self._age_months = completed_months(self.birth, self.ref) if self.birth else None
        return self._age_months

    @property
    def events(self) -> list[tuple[str, date, str | None, int]]:
        if self._events is None:
            self._events = [(e["type"], date.fromisoformat(e["date"]), e.get("atc"), e.get("count", 1))
                            for e in self.rec.get("events") or ()]
        return self._events


def _bounds(value, b: dict):
    if value is None:
        return None
    if "ge" in b and not value >= b["ge"]:
        return False
    if "gt" in b and not value > b["gt"]:
        return False
    if "le" in b and not value <= b["le"]:
        return False
    if "lt" in b and not value < b["lt"]:
        return False
    return True


def window_start(window: dict | None, ref: date) -> date | None:
    if not window:
        return None
    if "months" in window:
        return _minus(ref, months=window["months"])
    if "years" in window:
        return _minus(ref, years=window["years"])
    if "since" in window:
        return date.fromisoformat(window["since"])
    c = window["campaign"]
    start = date(ref.year, c["month"], c["day"])
    return start if start <= ref else date(ref.year - 1, c["month"], c["day"])


def _events(spec: dict, p: PatientView):
    lo = window_start(spec.get("window"), p.ref)
    atc = spec.get("atc_prefix")
    ay, am = spec.get("age_years_at_event"), spec.get("age_months_at_event")
    if (ay or am) and p.birth is None:
        return None
    n = 0
    for typ, d, ev_atc, count in p.events:
        if typ != spec["type"] or d > p.ref or (lo is not None and d < lo):
            continue
        if atc is not None and not (ev_atc or "").startswith(atc):
            continue
        if ay and not _bounds(completed_years(p.birth, d), ay):
            continue
        if am and not _bounds(completed_months(p.birth, d), am):
            continue
        n += count
    return n >= spec.get("min", 1)


def evaluate(c: dict, p: PatientView):
    if "all" in c:
        unknown = False
        for sub in c["all"]:
            r = evaluate(sub, p)
            if r is False:
                return False
            if r is None:
                unknown = True
        return None if unknown else True
    if "any" in c:
        unknown = False
        for sub in c["any"]:
            r = evaluate(sub, p)
            if r is True:
                return True
            if r is None:
                unknown = True
        return None if unknown else False
    if "not" in c:
        r = evaluate(c["not"], p)
        return None if r is None else not r
    if "age_years" in c:
        return _bounds(p.age_years, c["age_years"])
    if "age_months" in c:
        b = c["age_months"]
        months = p.age_months
        if months is None and p.age_years is not None:
            # without a birth date, the age in years may already decide: a 5-year-old is over 38 months
            results = {_bounds(m, b) for m in range(p.age_years * 12, p.age_years * 12 + 12)}
            return results.pop() if len(results) == 1 else None
        return _bounds(months, b)
    if "sex" in c:
        sex = p.rec.get("sex")
        return None if sex is None else sex == c["sex"]
    if "ald_any" in c:
        return any(a in c["ald_any"] for a in p.ald)
    if "has_ald" in c:
        return bool(p.ald) is c["has_ald"]
    if "flag" in c:
        return c["flag"] in p.flags
    if "seen" in c:
        return None if p.seen is None else p.seen is c["seen"]
    if "c2s" in c:
        return bool(p.rec.get("c2s", False)) is c["c2s"]
    if "events" in c:
        return _events(c["events"], p)
    raise ValueError(f"unknown criterion {c}")


# -- compiled criteria: the same semantics as evaluate(), built once per run ----------------------
def _compile_bounds(b: dict):
    ge, gt, le, lt = b.get("ge"), b.get("gt"), b.get("le"), b.get("lt")

    def test(v):
        if v is None:
            return None
        return not ((ge is not None and v < ge) or (gt is not None and v <= gt)
                    or (le is not None and v > le) or (lt is not None and v >= lt))
    return test


def compile_criterion(c: dict):
    """A function PatientView -> True / False / None equivalent to evaluate(c, p)."""
    if "all" in c:
        parts = [compile_criterion(s) for s in c["all"]]

        def f_all(p):
            unknown = False
            for part in parts:
                r = part(p)
                if r is False:
                    return False
                if r is None:
                    unknown = True
            return None if unknown else True
        return f_all
    if "any" in c:
        parts = [compile_criterion(s) for s in c["any"]]

        def f_any(p):
            unknown = False
            for part in parts:
                r = part(p)
                if r is True:
                    return True
                if r is None:
                    unknown = True
            return None if unknown else False
        return f_any
    if "not" in c:
        inner = compile_criterion(c["not"])

        def f_not(p):
            r = inner(p)
            return None if r is None else not r
        return f_not
    if "age_years" in c:
        t = _compile_bounds(c["age_years"])
        return lambda p: t(p.age_years)
    if "ald_any" in c:
        wanted = frozenset(c["ald_any"])
        return lambda p: not wanted.isdisjoint(p.ald)
    if "has_ald" in c:
        want = c["has_ald"]
        return lambda p: bool(p.ald) is want
    if "seen" in c:
        want = c["seen"]
        return lambda p: None if p.seen is None else p.seen is want
    if "sex" in c:
        want = c["sex"]

        def f_sex(p):
            s = p.rec.get("sex")
            return None if s is None else s == want
        return f_sex
    if "events" in c:
        spec = c["events"]
        typ = spec["type"]

        def f_events(p):
            if not p.rec.get("events"):
                return False if not (spec.get("age_years_at_event") or spec.get("age_months_at_event")) or p.birth else None
            for ev in p.rec["events"]:
                if ev["type"] == typ:
                    return _events(spec, p)
            return False if (p.birth or not (spec.get("age_years_at_event") or spec.get("age_months_at_event"))) else None
        return f_events
    if "age_months" in c:
        b = c["age_months"]
        t = _compile_bounds(b)
        def f_months(p):
            m = p.age_months
            if m is not None:
                return t(m)
            return evaluate(c, p)
        return f_months
    return lambda p: evaluate(c, p)   # flag, c2s: cheap
