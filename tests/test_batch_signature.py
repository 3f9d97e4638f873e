"""The batch signature is derived from the spec (not from a hand-written list), and its reductions
(ages, dates) decide exactly what the scalar definitions decide."""

from __future__ import annotations

import copy
import json
from datetime import date, timedelta

import pytest

pl = pytest.importorskip("polars")

from convmed.batch.engine import BatchEngine  # noqa: E402
from convmed.batch.readers import read_jsonl  # noqa: E402
from convmed.batch.signature import analyse  # noqa: E402
from convmed.facts import completed_months, completed_years  # noqa: E402
from convmed.model import build  # noqa: E402
from convmed.pricing import price_claim  # noqa: E402


def _with_extra_rule(spec, code: str, condition: dict, reason: str = "AGE_NOT_ELIGIBLE"):
    """A copy of the spec with one more requirement on `code` (as another engineer would add one)."""
    concepts = [copy.copy(c) for c in spec.concepts.values()]
    for c in concepts:
        if c.kind == "act" and c.data.get("code") == code:
            c.data = copy.deepcopy(c.data)
            c.data.setdefault("requirements", []).append({
                "id": "batch_test_extra", "description": "règle ajoutée par le test", "condition": condition,
                "refusal": {"reason": reason, "message": "refusé par la règle de test"},
                "status": "derived", "sources": []})
            c._timeline = None
    return build(spec.root, concepts)


def test_bounds_and_dates_come_from_the_spec(spec):
    a = analyse(spec)
    # every date written in an act or a rule is a breakpoint, e.g. G's value from 2024-12-22
    assert date(2024, 12, 22) in a.breakpoints
    assert "patient.age_years" in a.bounds and "doctor.sector" in a.facts
    bumped = _with_extra_rule(spec, "G", {"fact": "patient.age_years", "lt": 43})
    b = analyse(bumped)
    assert 43 in b.bounds["patient.age_years"] and 44 in b.bounds["patient.age_years"]
    assert 43 not in a.bounds.get("patient.age_years", [])
    dated = _with_extra_rule(spec, "G", {"fact": "doctor.pu_ph", "is": False})
    dated.acts_by_code["G"].data["requirements"][-1]["from"] = "2031-03-07"
    assert date(2031, 3, 7) in analyse(dated).breakpoints


def test_a_new_rule_is_priced_by_the_batch_engine_as_by_the_oracle(spec, tmp_path):
    """A rule added to the spec (age < 43 for G) splits claims the old signature would have merged."""
    bumped = _with_extra_rule(spec, "G", {"fact": "patient.age_years", "lt": 43})
    claims = [{"id": f"a{age}", "date": "2025-03-01", "doctor": {"specialty": "medecine_generale", "sector": "S1"},
               "patient": {"age_years": age}, "lines": [{"code": "G"}]} for age in (41, 42, 43, 44)]
    path = tmp_path / "c.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in claims))
    engine = BatchEngine(bumped)
    out = []
    for df, rejects, claim_of in read_jsonl(str(path), engine, 10):
        assert not rejects
        out.append(engine.price_chunk(df, claim_of).out)
    got = pl.concat(out).select("status", "reason").rows()
    expected = [(r["lines"][0]["status"], r["lines"][0].get("reason"))
                for r in (price_claim(c, bumped) for c in claims)]
    assert got == expected
    assert got[1][0] == "priced" and got[2] == ("refused", "AGE_NOT_ELIGIBLE")


def test_unknown_derived_fact_turns_reduction_off(spec, monkeypatch):
    from convmed.batch import signature

    a = analyse(spec)
    assert a.reduce_dates, f"derived facts the batch engine cannot classify: {a.unknown_derived}"
    monkeypatch.setattr(signature, "REDUCERS", {})
    monkeypatch.setattr(signature, "probe_derived", lambda spec, names, n=300: {name: {"date"} for name in names})
    b = signature.analyse(spec)
    assert not b.reduce_dates and "patient.age_years" in b.unknown_derived


def test_probing_finds_what_a_derived_fact_reads(spec):
    from convmed.batch.signature import probe_derived

    reads = probe_derived(spec, ["encounter.weekday", "patient.age_years", "line.tarif_opposable"], n=40)
    assert "date" in reads["encounter.weekday"]
    assert {"date", "patient/birth_date"} <= reads["patient.age_years"]
    assert "date" not in reads["line.tarif_opposable"] and "doctor/sector" in reads["line.tarif_opposable"]


def test_columnar_ages_match_the_scalar_definition(spec):
    """Completed years and months, computed columnar, on birthdays, month ends and 29 February."""
    engine = BatchEngine(spec)
    births = [date(2000, 2, 29), date(2019, 1, 10), date(2010, 12, 31), date(2024, 1, 31), date(1950, 6, 15)]
    days = [date(2025, 1, 10), date(2025, 2, 28), date(2025, 3, 1), date(2024, 2, 29), date(2025, 4, 30),
            date(2025, 12, 31), date(2024, 12, 30), date(2025, 6, 14), date(2025, 6, 15)]
    days += [date(2025, 1, 1) + timedelta(days=k) for k in range(0, 365, 17)]
    rows = [(d.isoformat(), b.isoformat()) for b in births for d in days if b <= d]
    df = pl.DataFrame(rows, schema={"date": pl.String, "patient.birth_date": pl.String}, orient="row")
    day = pl.col("date").str.to_date()
    birth = pl.col("patient.birth_date").str.to_date()
    years = (day.dt.year().cast(pl.Int32) - birth.dt.year().cast(pl.Int32) - (
        (day.dt.month().cast(pl.Int32) * 100 + day.dt.day().cast(pl.Int32))
        < (birth.dt.month().cast(pl.Int32) * 100 + birth.dt.day().cast(pl.Int32))).cast(pl.Int32))
    got = df.select(years.alias("y"))["y"].to_list()
    assert got == [completed_years(date.fromisoformat(b), date.fromisoformat(d)) for d, b in rows]
    # the engine's own expressions give the same classes as the scalar ages
    a = engine.analysis
    flat = df.with_columns(pl.lit(None, dtype=pl.Int64).alias("patient.age_years"))
    for name, dtype in engine.leaf_dtypes().items():
        if name not in flat.columns:
            flat = flat.with_columns(pl.lit(None, dtype=dtype).alias(name))
    flat = flat.with_columns(pl.lit(None, dtype=pl.List(pl.Struct({"code": pl.String}))).alias("lines"))
    sig = engine._signature_exprs()
    out = engine.signature_lazy(engine.with_derived(flat), sig).collect()
    if "s:age_years" in out.columns:
        assert out["s:age_years"].to_list() == [
            a.value_class("patient.age_years", completed_years(date.fromisoformat(b), date.fromisoformat(d)))
            for d, b in rows]
    if "s:age_months" in out.columns:
        assert out["s:age_months"].to_list() == [
            a.value_class("patient.age_months", completed_months(date.fromisoformat(b), date.fromisoformat(d)))
            for d, b in rows]


def test_declared_reads_of_derived_facts_cover_their_definitions(spec):
    """convmed.facts.DERIVED (the fields each derived fact reads, declared with its definition) covers what
    its definition really reads, for every derived fact; every derived claim fact of the vocabulary has its
    declaration and its definition (a `Facts` method)."""
    from convmed.batch.signature import probe_derived
    from convmed.facts import DERIVED, Facts

    derived = {n for n, t in spec.vocabulary("facts").items() if "derived" in t}
    assert derived <= set(DERIVED) | {n for n in derived if n.startswith("doctor.") and n != "doctor.optam"}
    for name in derived & set(DERIVED):
        assert hasattr(Facts, "_" + name.removeprefix("other.").replace(".", "_")), name
    reads = probe_derived(spec, sorted(n for n in DERIVED if not n.startswith("other.")), n=60)
    for name, paths in reads.items():
        assert paths, name
        for path in paths:
            pointer = "/" + path.replace("/*", "")
            assert pointer.startswith("/lines") or any(
                d == pointer or d.startswith(pointer + "/") for d in DERIVED[name].reads), (name, path)


def test_relevance_follows_the_concepts_of_the_codes(spec):
    from convmed.batch.signature import Relevance, schema_leaves

    leaves, _ = schema_leaves()
    rel = Relevance(spec, analyse(spec), leaves)
    # APC's limit per hospital stay reads the claim's stay (Pricer._same_period), and its conditions the
    # hospitalisation; G reads neither
    apc, g = rel.profile(["APC"]), rel.profile(["G"])
    assert {"patient.stay_id", "patient.hospitalised"} <= apc.leaves
    assert not {"patient.stay_id", "patient.hospitalised"} & g.leaves
    # dates: G's own value dates, not those of every act of the spec
    assert date(2024, 12, 22) in g.breakpoints and len(g.breakpoints) < len(rel.analysis.breakpoints)
    # a code outside the spec is priced from its base tariff: the association rules' facts apply
    assoc = [c for c in spec.concepts.values() if c.kind == "association"]
    if assoc:
        assert "context.endometriosis_surgery" in rel.profile(["ZZZZ999"]).leaves
    # a set of codes reads the union of what each reads
    both = rel.profile(["APC", "G"])
    assert apc.leaves | g.leaves <= both.leaves


def test_column_checks_of_dropped_fields_match_the_schema(spec):
    """A field dropped from a signature is checked on its column: the check says what the claim schema says."""
    from convmed.batch.validation import validate_claim
    from convmed.batch.signature import leaf_check, schema_leaves

    leaves, _ = schema_leaves()
    base = {"date": "2025-03-04", "doctor": {"specialty": "medecine_generale", "sector": "S1"},
            "lines": [{"code": "G"}]}
    checked = 0
    for leaf in leaves:
        if not leaf.checkable or leaf.kind == "bool" or leaf.path[-1] == "age_years":
            continue
        if leaf.kind == "int":
            values = [-1, 0, 1, 5, 6, 100, 101, 10**6]
        else:
            values = list(leaf.enum or ()) + ["", "x", "Abc", "a_b", "a\n", "é", "s" * 200, "s" * 201, "lune"]
        frame = pl.DataFrame({"v": values}, schema={"v": pl.Int64 if leaf.kind == "int" else pl.String})
        got = frame.select(leaf_check(leaf, pl.col("v")).alias("ok"))["ok"].to_list()
        for value, ok in zip(values, got):
            claim = copy.deepcopy(base)
            node = claim
            for part in leaf.path[:-1]:
                node = node.setdefault(part, {})
            node[leaf.path[-1]] = value
            assert bool(ok) == (not validate_claim(claim)), (leaf.name, value)
            checked += 1
    assert checked > 100


def test_lines_profiles_when_the_first_hash_collides(spec):
    """Rows are mapped to their lines' profile by the first hash when it tells the chunk's distinct lines apart, by
    both hashes otherwise: a (forced) collision of the first hash still gives every row its own lines' profile."""
    engine = BatchEngine(spec)
    claims = [[{"code": "G"}], [{"code": "GL3"}], [{"code": "G"}, {"code": "MEG"}], [{"code": "GL3"}], [{"code": "G"}]]
    lines = pl.Series("lines", claims)
    want = [engine._profile_id(c) for c in claims]
    assert len(set(want)) == 3
    distinct = {text: k for k, text in enumerate(dict.fromkeys(json.dumps(c) for c in claims))}
    second = [100 + distinct[json.dumps(c)] for c in claims]
    for first in ([7, 8, 9, 8, 7], [7, 7, 7, 7, 7]):           # l1 apart, then one l1 for three distinct lines
        fresh = BatchEngine(spec)
        lh = pl.DataFrame({"l1": first, "l2": second}, schema={"l1": pl.UInt64, "l2": pl.UInt64})
        got = fresh._lines_profiles(lines, lh).to_list()
        assert [fresh._profiles_by_id[p] for p in got] == [engine._profiles_by_id[p] for p in want]
