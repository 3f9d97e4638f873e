"""Each fact defined once, its scalar and column forms side by side (convmed.facts): the completed ages and
month lengths that the batch engines compute on columns (polars in convmed.batch.engine, numpy in
convmed.batch.fmt_columnar) are the scalar definitions' values on every class of dates: month ends, 29
February, century years, the day before and on an anniversary."""

from datetime import date, timedelta

import pytest
from hypothesis import given, settings, strategies as st

from convmed.facts import completed_ages_columns, completed_months, completed_years, month_length_columns

np = pytest.importorskip("numpy")
pl = pytest.importorskip("polars")

BIRTHS = [date(y, m, d) for y in (1899, 1960, 2000, 2023, 2024) for m in (1, 2, 3, 12) for d in (1, 28, 29, 30, 31)
          if not (m == 2 and d > 28 and (d == 30 or d == 31 or y % 4))]
ONS = [date(2026, 12, 31), date(2026, 2, 28), date(2024, 2, 29), date(2025, 4, 30), date(2026, 1, 1),
       date(1998, 7, 31), date(2100, 2, 28), date(2000, 2, 29), date(2025, 3, 1), date(2024, 2, 28)]


def _numpy(pairs):
    arr = lambda which, f: np.array([getattr(p[which], f) for p in pairs], dtype=np.int32)  # noqa: E731
    birth = tuple(arr(0, f) for f in ("year", "month", "day"))
    on = tuple(arr(1, f) for f in ("year", "month", "day"))
    years, months = completed_ages_columns(birth, on, lambda x: np.asarray(x).astype(np.int64))
    return list(years), list(months)


def _polars(pairs):
    frame = pl.DataFrame({f"{w}{f}": [getattr(p[i], f) for p in pairs]
                          for i, w in ((0, "b"), (1, "o")) for f in ("year", "month", "day")},
                         schema={f"{w}{f}": pl.Int32 for w in "bo" for f in ("year", "month", "day")})
    cols = lambda w: tuple(pl.col(f"{w}{f}") for f in ("year", "month", "day"))  # noqa: E731
    years, months = completed_ages_columns(cols("b"), cols("o"), lambda e: e.cast(pl.Int32))
    out = frame.select(years.alias("y"), months.alias("m"))
    return out["y"].to_list(), out["m"].to_list()


def _scalar(pairs):
    return [completed_years(b, o) for b, o in pairs], [completed_months(b, o) for b, o in pairs]


def test_the_column_forms_are_the_scalar_ages_on_every_class_of_dates():
    pairs = [(b, o) for b in BIRTHS for o in ONS if b <= o]
    assert _numpy(pairs) == _scalar(pairs)
    assert _polars(pairs) == _scalar(pairs)


def test_a_reference_date_given_as_scalars():
    """The FMT reads every patient's age at 31/12 of the year: the date as three scalars."""
    ref = date(2026, 12, 31)
    birth = tuple(np.array([getattr(b, f) for b in BIRTHS], dtype=np.int32) for f in ("year", "month", "day"))
    years, months = completed_ages_columns(birth, (ref.year, ref.month, ref.day), lambda x: np.asarray(x).astype(np.int64))
    assert list(years) == [completed_years(b, ref) for b in BIRTHS]
    assert list(months) == [completed_months(b, ref) for b in BIRTHS]


@settings(max_examples=200, deadline=None)
@given(st.dates(date(1890, 1, 1), date(2099, 12, 31)), st.integers(0, 40000))
def test_any_pair_of_dates(birth, days):
    on = birth + timedelta(days=days)
    pairs = [(birth, on)]
    assert _numpy(pairs) == _scalar(pairs) == _polars(pairs)


def test_month_lengths():
    import calendar

    ym = [(y, m) for y in (1900, 2000, 2023, 2024, 2100) for m in range(1, 13)]
    y = np.array([a for a, _ in ym]); m = np.array([b for _, b in ym])  # noqa: E702
    got = month_length_columns(y, m, lambda x: np.asarray(x).astype(np.int64))
    assert list(got) == [calendar.monthrange(a, b)[1] for a, b in ym]


# ---------------------------------------------------------------- every claim fact's column form (columnar pricing)
def test_every_claim_fact_column_form_agrees_with_the_scalar_facts(spec, tmp_path):
    """convmed.facts.claim_fact_column, read by the columnar pricing backend, gives for each fact of the vocabulary
    the value `Facts.get` gives (None for a missing fact) on every line of generated claims and of hand-picked edges
    (a 29 February birth, midnight, a territory's own public holiday, an explicit tarif_opposable, a dépassement
    line bound to one act or another)."""
    import json

    from convmed.batch.engine import BatchEngine
    from convmed.batch.generate import generate_claims
    from convmed.batch.readers import read_jsonl
    from convmed.batch.validation import validate_claim
    from convmed.claim_plan import depassement_bound, plan
    from convmed.facts import DEPASSEMENT_COLUMN, HOLIDAY_COLUMN, Facts, MissingFact, claim_fact_column

    claims = list(generate_claims(3000, seed=11, spec=spec, history_rate=0.0))
    edges = [
        {"id": "e1", "date": "2025-02-28", "time": "00:05", "doctor": {"specialty": "pediatrie", "sector": "S2",
         "option": "OPTAM_CO"}, "patient": {"birth_date": "2024-02-29"}, "lines": [{"code": "G"}]},
        {"id": "e2", "date": "2025-05-27", "territory": "guadeloupe", "doctor": {"specialty": "medecine_generale",
         "sector": "S1"}, "patient": {"age_years": 7}, "lines": [{"code": "G", "tarif_opposable": False}]},
        {"id": "e3", "date": "2025-04-21", "doctor": {"specialty": "medecine_generale", "sector": "DP"},
         "lines": [{"code": "G"}]},
        # a dépassement line bound to the first act, then to the second one (base_line): § 1.3
        {"id": "e4", "date": "2025-04-22", "doctor": {"specialty": "medecine_generale", "sector": "S1"},
         "lines": [{"code": "G"}, {"code": "VG"}, {"code": "DE", "amount": "5.00"}]},
        {"id": "e5", "date": "2025-04-22", "doctor": {"specialty": "medecine_generale", "sector": "S1"},
         "lines": [{"code": "G"}, {"code": "VG"}, {"code": "DE", "amount": "5.00", "base_line": 1}]},
    ]
    claims = [c for c in claims + edges if not validate_claim(c)]
    assert sum(len(c["lines"]) > 1 for c in claims) > 100
    path = tmp_path / "claims.jsonl"
    path.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in claims), encoding="utf-8")
    engine = BatchEngine(spec)
    frames = [df for df, _, _ in read_jsonl(str(path), engine, 10_000) if df.height]
    # one row per line, with the structural column the backend joins (claim_plan.depassement_bound)
    frame = pl.concat(frames).with_columns(
        pl.int_ranges(0, pl.col("lines").list.len()).alias("_index")).explode("lines", "_index")
    frame = frame.with_columns(pl.col("lines").alias("_line"), pl.Series(DEPASSEMENT_COLUMN, [
        depassement_bound(plan(spec, claims[row - 1]), i) for row, i in zip(frame["row"], frame["_index"])]))
    frame = frame.with_columns(engine.columnar._holiday_column(frame))
    assert HOLIDAY_COLUMN in frame.columns and frame.height == sum(len(c["lines"]) for c in claims)
    assert frame[DEPASSEMENT_COLUMN].sum() > 10
    vocabulary = spec.vocabulary("facts")
    checked = []
    for name in vocabulary:
        expr = claim_fact_column(name, vocabulary, engine.columnar._column)
        if expr is None:
            continue
        values = frame.select(expr.alias("v"))["v"].to_list()
        for row, i, value in zip(frame["row"], frame["_index"], values):
            claim = claims[row - 1]
            try:
                expected = Facts(claim, i, vocabulary, plan=plan(spec, claim)).get(name)
            except MissingFact:
                expected = None
            assert value == expected and type(value) is type(expected), (name, claim, i, value, expected)
        checked.append(name)
    # every claim fact but the normalised coefficient, and none of a patient record's
    derived = {"doctor.optam", "patient.age_years", "patient.age_months", "encounter.hour", "encounter.weekday",
               "encounter.public_holiday", "line.tarif_opposable"}
    assert derived <= set(checked) and "line.coefficient" not in checked
    assert len(checked) > 60
