"""Facts of a claim, by the names of spec/vocabulary/facts.yaml.

A fact is read from the claim at its `claim_pointer` (with /line/ meaning the billed
line being evaluated) or computed by one of the few derivations below, each defined
in French in the vocabulary. A fact with no value and no default raises MissingFact.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache

OPTAM_OPTIONS = frozenset({"OPTAM", "OPTAM_ACO", "OPTAM_CO", "CAS"})


class MissingFact(Exception):
    def __init__(self, name: str):
        super().__init__(name)
        self.name = name


def completed_years(birth: date, on: date) -> int:
    years = on.year - birth.year
    if (on.month, on.day) < (birth.month, birth.day):
        years -= 1
    return years


def completed_months(birth: date, on: date) -> int:
    months = (on.year - birth.year) * 12 + on.month - birth.month
    if on.day < birth.day:
        # born on the 31st: a month is complete on the last day of a shorter month
        import calendar

        if not (on.day == calendar.monthrange(on.year, on.month)[1]):
            months -= 1
    return months


def shift_months(d: date, years: int = 0, months: int = 0) -> date:
    """The same day `years` and `months` earlier (later for negative values); the last day of the month when
    that month is shorter (31 March minus one month: 28 or 29 February). Windows of the forfaits and of the
    assistant médical contracts (spec/SEMANTIQUE.md)."""
    import calendar

    total = d.year * 12 + (d.month - 1) - years * 12 - months
    y, m = divmod(total, 12)
    m += 1
    return date(y, m, min(d.day, calendar.monthrange(y, m)[1]))


class Range:
    """A fact known only to lie between `lo` and `hi` (integers, inclusive): the age in months of a patient whose
    age is given in years only, a count of events some of which may not match. A condition on it is decided when
    its operator has the same truth for every value of the range (convmed.operators.decide_range), else unknown
    (spec/SEMANTIQUE.md § 1.5)."""

    __slots__ = ("lo", "hi")

    def __init__(self, lo: int, hi: int):
        self.lo, self.hi = lo, hi

    def __repr__(self) -> str:
        return f"Range({self.lo}, {self.hi})"


@dataclass(frozen=True)
class Derivation:
    """What a batch engine needs to know of a derived claim fact (spec/vocabulary/facts.yaml `derived`; its value
    is the `Facts` method `_<name>` below): the claim fields it reads (JSON pointers; "/lines" the claim's
    lines) and how a batch signature decides it: "verbatim" (its fields kept as they are) or the name of the
    class of values it is reduced to ("age_years", "age_months": classes between the conditions' bounds;
    "hour", "weekday", "holiday": of the date and time). tests/test_batch_signature.py probes `reads`."""

    reads: frozenset
    reducer: str


_AGE_READS = frozenset({"/patient/birth_date", "/patient/age_years", "/date"})
DERIVED: dict[str, Derivation] = {
    "doctor.optam": Derivation(frozenset({"/doctor/option"}), "verbatim"),
    "line.coefficient": Derivation(frozenset({"/lines"}), "verbatim"),
    # the line's flag, else the sector and the claim's dépassement lines
    "line.tarif_opposable": Derivation(frozenset({"/lines", "/doctor/sector"}), "verbatim"),
    "other.line.tarif_opposable": Derivation(frozenset({"/lines", "/doctor/sector"}), "verbatim"),
    "patient.age_years": Derivation(_AGE_READS, "age_years"),
    "patient.age_months": Derivation(_AGE_READS, "age_months"),
    "encounter.hour": Derivation(frozenset({"/time"}), "hour"),
    "encounter.weekday": Derivation(frozenset({"/date"}), "weekday"),
    "encounter.public_holiday": Derivation(frozenset({"/date", "/territory"}), "holiday"),
}


# -- the same facts on columns (numpy arrays or polars expressions, side by side with the scalar definitions
#    above): one formula each, `as_int` the backend's cast of a boolean column to integers. The batch engines
#    (convmed.batch.engine: polars; convmed.batch.fmt_columnar: numpy) read these; tests/test_facts_columns.py
#    checks they agree with completed_years / completed_months on every class of dates (month ends, 29 February).
def month_length_columns(y, m, as_int):
    """The number of days of month `m` of year `y` (proleptic Gregorian), on columns."""
    leap = as_int((y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0)))
    short = as_int((m == 4) | (m == 6) | (m == 9) | (m == 11))
    return 31 - short - as_int(m == 2) * (3 - leap)


def completed_ages_columns(birth: tuple, on: tuple, as_int) -> tuple:
    """(completed_years, completed_months) on columns of birth (year, month, day) at on (year, month, day): a
    year more on the anniversary (29 February: on 1 March), a month more on the same day of the month or on the
    last day of a shorter month."""
    by, bm, bd = birth
    oy, om, od = on
    on_last_day = od == month_length_columns(oy, om, as_int)
    years = oy - by - as_int((om * 100 + od) < (bm * 100 + bd))
    months = (oy - by) * 12 + om - bm - as_int((od < bd) & ~on_last_day)
    return years, months


# -- the claim facts on polars columns, for a claim of ONE line (convmed.batch.columnar), side by side with the
#    scalar readers and derivations of `Facts` below: each derived fact's column form next to its name, a
#    `claim_pointer` fact read from its column (the flat layout: pointer /a/b -> column "a.b", /line/x -> field x
#    of the claim's only line), its `default` for a missing value. tests/test_facts_columns.py checks every form
#    against `Facts` on generated claims. A fact absent from this map has no column form (line.coefficient: its
#    normalised decimal text): the columnar backend leaves the acts that read it to the scalar path.
DEPASSEMENT_COLUMN = "_depassement_bound"   # the column of claim_plan.depassement_bound per line
HOLIDAY_COLUMN = "_public_holiday"   # encounter.public_holiday: computed per distinct (date, territory) by the
#                                      scalar is_public_holiday (the calendar is a list of days, not a formula)


def _ymd_columns(col):
    return tuple(col.str.slice(start, length).cast(_pl().Int32) for start, length in ((0, 4), (5, 2), (8, 2)))


def _pl():
    import polars

    return polars


def _age_columns(col, unit: int):
    """patient.age_years (unit 0) / patient.age_months (unit 1): from the birth date at the claim's date, else
    (years only) the age given."""
    pl = _pl()
    birth = col("/patient/birth_date")
    ages = completed_ages_columns(_ymd_columns(birth), _ymd_columns(col("/date")), lambda e: e.cast(pl.Int32))
    given = col("/patient/age_years").cast(pl.Int64) if unit == 0 else pl.lit(None, dtype=pl.Int64)
    return pl.when(birth.is_not_null()).then(ages[unit].cast(pl.Int64)).otherwise(given)


CLAIM_COLUMNS = {
    "doctor.optam": lambda col: col("/doctor/option").fill_null("none").is_in(sorted(OPTAM_OPTIONS)),
    "patient.age_years": lambda col: _age_columns(col, 0),
    "patient.age_months": lambda col: _age_columns(col, 1),
    "encounter.hour": lambda col: col("/time").str.split(":").list.first().cast(_pl().Int64),
    "encounter.weekday": lambda col: col("/date").str.to_date("%Y-%m-%d").dt.weekday().cast(_pl().Int64),
    "encounter.public_holiday": lambda col: _pl().col(HOLIDAY_COLUMN),
    # the line's flag, else a sector-1 doctor's line that no dépassement line has for base act (§ 1.3)
    "line.tarif_opposable": lambda col: col("/line/tarif_opposable").fill_null(
        col("/doctor/sector").eq_missing("S1") & ~_pl().col(DEPASSEMENT_COLUMN)),
}


def claim_fact_column(name: str, vocabulary: dict[str, dict], col):
    """Fact `name` of a one-line claim as a polars expression (null where the claim gives no value and the
    vocabulary no default), `col(pointer)` giving the column of a claim pointer; None when it has no column
    form."""
    term = vocabulary.get(name)
    if term is None:
        return None
    if "derived" in term:
        form = CLAIM_COLUMNS.get(name)
        if form is None:
            return None
        value = form(col)
    elif "claim_pointer" in term:
        value = col(term["claim_pointer"])
        if value is None:
            return None
    else:
        return None
    default = term.get("default")
    return value if default is None else value.fill_null(default)


@lru_cache(maxsize=1024)
def _pointer_parts(pointer: str) -> tuple[str, ...]:
    return tuple(pointer.strip("/").split("/"))


def _pointer_get(obj, pointer: str):
    for part in _pointer_parts(pointer):
        if not isinstance(obj, dict) or part not in obj:
            return None
        obj = obj[part]
    return obj


_READERS: dict[int, tuple[dict, dict]] = {}   # id(vocabulary) -> (vocabulary, {name: how Facts reads it})


def _readers(vocabulary: dict[str, dict]) -> dict:
    """The memo of `_reader` for one vocabulary (kept alive with it)."""
    found = _READERS.get(id(vocabulary))
    if found is None or found[0] is not vocabulary:
        if len(_READERS) >= 16:
            _READERS.clear()
        found = _READERS[id(vocabulary)] = (vocabulary, {})
    return found[1]


def _reader(vocabulary: dict[str, dict], name: str) -> tuple:
    """How Facts reads `name`: (derived method name or None, on the line?, pointer parts, default)."""
    term = vocabulary.get(name)
    if term is None:
        raise KeyError(f"unknown fact {name}")
    if "derived" in term:
        return "_" + name.replace(".", "_"), False, (), term.get("default")
    pointer = term["claim_pointer"]
    on_line = pointer.startswith("/line/")
    return None, on_line, _pointer_parts(pointer[len("/line"):] if on_line else pointer), term.get("default")


class Facts:
    """The facts of one billed line of one claim. `plan` (convmed.claim_plan.ClaimPlan) gives the structure of
    the claim that a few derived facts read (a dépassement line bound to this line)."""

    def __init__(self, claim: dict, line_index: int, vocabulary: dict[str, dict], on: date | None = None,
                 plan=None):
        self.claim = claim
        self.line = claim["lines"][line_index]
        self.line_index = line_index
        self.vocabulary = vocabulary
        self.on = on if on is not None else date.fromisoformat(claim["date"])   # the claim's date
        self.plan = plan
        self._readers = _readers(vocabulary)

    def get(self, name: str):
        reader = self._readers.get(name)
        if reader is None:
            reader = self._readers[name] = _reader(self.vocabulary, name)
        method, on_line, parts, default = reader
        if method is not None:
            value = getattr(self, method)()
        else:
            value = self.line if on_line else self.claim
            for part in parts:
                if not isinstance(value, dict) or part not in value:
                    value = None
                    break
                value = value[part]
        if value is None:
            value = default
        if value is None:
            raise MissingFact(name)
        return value

    # -- derived facts (definitions in spec/vocabulary/facts.yaml) --
    def _doctor_optam(self):
        return self.claim["doctor"].get("option", "none") in OPTAM_OPTIONS

    def _patient_age_years(self):
        patient = self.claim.get("patient") or {}
        if "birth_date" in patient:
            return completed_years(date.fromisoformat(patient["birth_date"]), self.on)
        return patient.get("age_years")

    def _patient_age_months(self):
        patient = self.claim.get("patient") or {}
        if "birth_date" in patient:
            return completed_months(date.fromisoformat(patient["birth_date"]), self.on)
        return None

    # -- partie B : heure, jour, jours fériés, coefficient (définitions dans facts.yaml) --
    def _encounter_hour(self):
        time = self.claim.get("time")
        return int(time.split(":")[0]) if time else None

    def _encounter_weekday(self):
        return self.on.isoweekday()

    def _encounter_public_holiday(self):
        return is_public_holiday(self.on, self.claim.get("territory", "metropole"))

    def _line_tarif_opposable(self):
        """The line's own `tarif_opposable` when the claim gives it; otherwise true for a sector-1 doctor when no
        dépassement line (DE, DA) of the claim applies to this line, false otherwise (SEMANTIQUE.md § 1.3)."""
        flag = self.line.get("tarif_opposable")
        if flag is not None:
            return flag
        if self.claim["doctor"].get("sector") != "S1":
            return False
        return not self._has_depassement()

    def _has_depassement(self) -> bool:
        from convmed.claim_plan import depassement_bound

        return self.plan is not None and depassement_bound(self.plan, self.line_index)

    def _line_coefficient(self):
        raw = self.line.get("coefficient")
        if raw is None:
            return None
        from decimal import Decimal

        text = format(Decimal(raw).normalize(), "f")
        return text


# Jours fériés légaux : code du travail art. L. 3133-1 ; DROM : décret n° 83-1003 (abolition de l'esclavage).
# Source hors corpus (les sources conventionnelles ne donnent pas ce calendrier) ; voir facts.yaml.
_FIXED_HOLIDAYS = {(1, 1), (5, 1), (5, 8), (7, 14), (8, 15), (11, 1), (11, 11), (12, 25)}
_DROM_HOLIDAYS = {"guadeloupe": (5, 27), "martinique": (5, 22), "guyane": (6, 10), "reunion": (12, 20),
                  "mayotte": (4, 27)}


def easter(year: int) -> date:
    """Dimanche de Pâques (calendrier grégorien, algorithme anonyme de Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l) // 451
    month = (h + l - 7 * m + 114) // 31
    day = (h + l - 7 * m + 114) % 31 + 1
    return date(year, month, day)


def is_public_holiday(on: date, territory: str = "metropole") -> bool:
    from datetime import timedelta

    if (on.month, on.day) in _FIXED_HOLIDAYS or _DROM_HOLIDAYS.get(territory) == (on.month, on.day):
        return True
    e = easter(on.year)
    return on in {e + timedelta(days=1), e + timedelta(days=39), e + timedelta(days=50)}


class PairFacts:
    """The facts of a pair of lines in a non-cumul (`unless`): a fact `other.<name>` is fact <name> of the other
    line, any other fact is this line's (SEMANTIQUE.md § 3.5)."""

    def __init__(self, mine: Facts, other: Facts):
        self.mine, self.other = mine, other

    def get(self, name: str):
        if name.startswith("other."):
            return self.other.get(name[len("other."):])
        return self.mine.get(name)


def history_fact(entry: dict, name: str):
    """The value of fact `name` for one history entry (for a limit's `same`)."""
    if name == "patient.id":
        return entry.get("patient_id")
    if name == "doctor.id":
        return entry.get("doctor_id")
    if name == "patient.stay_id":
        return entry.get("stay_id")
    if name.startswith("context."):
        return (entry.get("context") or {}).get(name.split(".", 1)[1])
    return None
