"""The batch engine agrees to the cent with the scalar oracle (convmed.pricing.price_claim): on every
claim of the conformance vectors and on generated claims (codes, dates, ages and facts drawn around
the spec's own bounds; some with a history, which takes the scalar path when their codes count acts)."""

from __future__ import annotations

import copy
import json
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pl = pytest.importorskip("polars")

from convmed.batch.engine import BatchEngine  # noqa: E402
from convmed.batch.validation import validate_claim  # noqa: E402
from convmed.batch.generate import generate_claims  # noqa: E402
from convmed.batch.readers import read_jsonl  # noqa: E402
from convmed.pricing import price_claim  # noqa: E402


def _scalar_rows(claims, spec):
    rows = []
    for n, claim in enumerate(claims, start=1):
        if validate_claim(claim):
            continue
        res = price_claim(claim, spec)
        for line in res["lines"]:
            rows.append((n, line["index"], line["code"], line["status"], line.get("amount"), line.get("reason"),
                         res["total"], res["complete"]))
    return rows


def _batch_rows(claims, spec, tmp_path, chunk_rows=2000, **options):
    path = tmp_path / "claims.jsonl"
    path.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in claims), encoding="utf-8")
    engine = BatchEngine(spec, **options)
    parts, rejected = [], []
    for df, rejects, claim_of in read_jsonl(str(path), engine, chunk_rows):
        rejected += rejects
        if df.height:
            res = engine.price_chunk(df, claim_of)
            parts.append(res.out)
            rejected += res.rejects
    out = pl.concat(parts)
    cols = ["row", "index", "code", "status", "amount", "reason", "total", "complete"]
    return out.select(cols).rows(), rejected, engine


def _claims_of_vectors(repo):
    claims = []
    for f in sorted((repo / "conformance_tests" / "v1").glob("*.json")):
        data = json.loads(f.read_text(encoding="utf-8"))
        for case in data.get("cases", []):
            if case.get("kind") == "claim" and isinstance(case.get("input"), dict):
                claims.append(case["input"])
    return claims


def test_every_conformance_vector_agrees(repo, spec, tmp_path):
    claims = _claims_of_vectors(repo)
    assert len(claims) > 50
    expected = _scalar_rows(claims, spec)
    # both backends: the columnar one (decision keys) for the claims it expresses, and the signatures alone
    for columnar in (True, False):
        got, rejected, engine = _batch_rows(claims, spec, tmp_path, chunk_rows=97, columnar=columnar)
        assert got == expected
        # the vectors are valid claims: none is refused as input
        assert not rejected
        assert (engine.stats["columnar_rows"] > len(claims) // 4) is columnar


def test_generated_claims_agree_to_the_cent(spec, tmp_path):
    # CONVMED_AGREEMENT_CLAIMS=1000000 for a long run (default 6000: a few seconds)
    n = int(os.environ.get("CONVMED_AGREEMENT_CLAIMS", "6000"))
    claims = list(generate_claims(n, seed=20261123, spec=spec, history_rate=0.05))
    # several chunks at every size (the memory of signatures is shared between chunks)
    expected = _scalar_rows(claims, spec)
    for columnar in (True, False):
        got, rejected, engine = _batch_rows(claims, spec, tmp_path, chunk_rows=max(1500, n // 40), columnar=columnar)
        assert not rejected
        assert len(got) == len(expected)
        diffs = [(a, b) for a, b in zip(got, expected) if a != b]
        assert diffs == []
        assert engine.stats["scalar_rows"] > 0          # claims with a history went the scalar path
        assert (engine.stats["columnar_rows"] > n // 10) is columnar
    statuses = {r[3] for r in got}
    assert {"priced", "refused"} <= statuses        # the sample exercises both outcomes


def test_national_profile_deduplicates_and_agrees(spec, tmp_path):
    claims = list(generate_claims(4000, seed=7, spec=spec, profile="national", history_rate=0.0))
    got, rejected, engine = _batch_rows(claims, spec, tmp_path, chunk_rows=1000)
    assert not rejected
    assert got == _scalar_rows(claims, spec)
    # the same signature is priced once for many claims
    assert engine.stats["signatures"] < len(claims)
    # without relevance (every fact of the spec in every signature): same prices, many more signatures
    every, _, whole = _batch_rows(claims, spec, tmp_path, chunk_rows=1000, relevance=False)
    assert every == got
    assert whole.stats["signatures"] > 1.5 * engine.stats["signatures"]
    # the dates, birth dates and times met in earlier chunks remembered, or forgotten (a memory of 40 values
    # each, smaller than a chunk's): the same prices, and no row sent to the scalar path for it
    remembered, _, bounded = _batch_rows(claims, spec, tmp_path, chunk_rows=500, max_values=40)
    assert remembered == got and bounded.stats["scalar_rows"] == engine.stats["scalar_rows"]
    # a memory of signatures smaller than a chunk's: forgotten between chunks, never within one
    small, _, forgetful = _batch_rows(claims, spec, tmp_path, chunk_rows=500, max_cache=50)
    assert small == got
    assert forgetful.stats["signatures"] > engine.stats["signatures"]


# ---------------------------------------------------------------- signatures relevant to the codes
def _g_claim(**extra):
    claim = {"date": "2025-03-04", "doctor": {"specialty": "medecine_generale", "sector": "S1"},
             "lines": [{"code": "G"}]}
    for key, value in extra.items():
        claim.setdefault(key, {}).update(value) if isinstance(value, dict) else claim.__setitem__(key, value)
    return claim


def _leaf_values(leaf):
    if leaf.kind == "bool":
        return [True, False]
    if leaf.kind == "int":
        lo = leaf.minimum or 0
        return [lo, lo + 1, lo + 7, leaf.maximum if leaf.maximum is not None else lo + 40]
    if leaf.enum:
        return list(leaf.enum)
    return ["x1", "x2"]


def _set(claim, leaf, value):
    node = claim
    for part in leaf.path[:-1]:
        node = node.setdefault(part, {})
    node[leaf.path[-1]] = value


def test_claims_differing_only_in_irrelevant_facts_share_one_signature(spec, tmp_path):
    """G's concepts do not read most context facts: claims that differ only there are priced once, as the
    oracle prices each of them; an invalid value of such a fact is still refused, row by row."""
    engine = BatchEngine(spec)
    profile = engine.relevance.profile(["G"])
    irrelevant = [leaf for leaf in engine.leaves if leaf.path[0] in ("context", "patient") and leaf.checkable
                  and not leaf.constrained and leaf.name not in profile.leaves and not leaf.name.startswith("patient.age")
                  and leaf.name != "patient.birth_date"]
    assert len(irrelevant) > 20 and "context.zone_montagne" in {leaf.name for leaf in irrelevant}
    claims = [_g_claim()]
    for leaf in irrelevant:
        for value in _leaf_values(leaf):
            claim = _g_claim()
            _set(claim, leaf, value)
            claims.append(claim)
    mixed = _g_claim()
    for leaf in irrelevant[::3]:
        _set(mixed, leaf, _leaf_values(leaf)[-1])
    claims.append(mixed)
    bad = _g_claim(context={"place": "lune"})          # not in the schema's enum
    too_long = _g_claim(patient={"stay_id": "s" * 201})  # over maxLength
    claims += [bad, too_long]
    expected = _scalar_rows(claims, spec)
    # every leaf checked and coded over the whole chunk, or where it is present only (sparse_below)
    for sparse_below in (0, 1 / 16, 1.0):
        # the signature path alone: one signature; the columnar backend: one decision key (G read nothing else)
        for columnar, counted in ((False, "scalar_signatures"), (True, "columnar_signatures")):
            got, rejected, engine = _batch_rows(claims, spec, tmp_path, chunk_rows=len(claims),
                                                sparse_below=sparse_below, columnar=columnar)
            assert got == expected
            assert {r.row for r in rejected} == {len(claims) - 1, len(claims)}
            assert {r[3] for r in got} == {"priced"}
            assert engine.stats["signatures"] == 1 and engine.stats[counted] == 1
            assert engine.stats["decision_keys"] == int(columnar)


def test_leaves_present_on_few_rows_are_coded_there_with_the_same_signatures(spec, tmp_path):
    """A leaf present on few rows of a chunk (BatchEngine.sparse_below) is checked and coded on those rows
    only; its code is the same as over the whole chunk: the same claims give the same signatures (a signature
    met in chunks where its leaves are sparse and in chunks where they are not is priced once) and prices."""
    claims = list(generate_claims(3000, seed=11, spec=spec, profile="national", history_rate=0.0))
    runs = {}
    for sparse_below in (0, 1 / 16, 1.0):
        # chunks of different sizes: a leaf is sparse in some chunks and not in others
        got, rejected, engine = _batch_rows(claims, spec, tmp_path, chunk_rows=97, sparse_below=sparse_below)
        runs[sparse_below] = (got, len(rejected), engine.stats["signatures"])
    assert runs[0] == runs[1 / 16] == runs[1.0]
    assert runs[0][0] == _scalar_rows(claims, spec)


def test_a_bad_value_among_many_good_ones_of_a_dense_field_is_refused_on_its_row(spec, tmp_path):
    """A field present on every row is checked on its column: one bad value among many good ones refuses that
    row only, with the scalar validator's message, whether the field is checked where present only or on
    every row (sparse_below), and the other rows are priced as the scalar oracle prices them."""
    specialties = ["medecine_generale", "pediatrie", "psychiatrie"]
    good = [_g_claim(time=f"{8 + i % 12:02d}:{i % 60:02d}", doctor={"specialty": specialties[i % 3],
                                                                    "sector": ("S1", "S2")[i % 2]})
            for i in range(300)]
    bad = {5: _g_claim(time="24:00"), 77: _g_claim(doctor={"specialty": "Medecine"}),
           150: _g_claim(doctor={"sector": "S9"})}
    claims = [bad.get(i, c) for i, c in enumerate(good)]
    for chunk, sparse_below in ((good, 0), (claims, 0), (claims, 1.0)):
        got, rejected, _ = _batch_rows(chunk, spec, tmp_path, chunk_rows=len(chunk), sparse_below=sparse_below)
        assert got == _scalar_rows(chunk, spec)
        want = {i + 1 for i in bad} if chunk is claims else set()
        assert {r.row for r in rejected} == want
        for r in rejected:
            assert r.message == validate_claim(chunk[r.row - 1])[0][1]


def _with_rule_on(spec, codes, condition, reason="NOT_ELIGIBLE"):
    """A copy of the spec with one more rule (kind rule, `applies_to`), as another engineer would add one."""
    from convmed.model import build

    concepts = list(spec.concepts.values())
    template = next(c for c in concepts if c.kind == "rule" and c.data.get("applies_to"))
    rule = copy.copy(template)
    rule.id = "rules.test.batch_relevance"
    rule.data = {"kind": "rule", "label": "règle de test", "applies_to": list(codes), "requirements": [{
        "id": "batch_test", "description": "règle ajoutée par le test", "condition": condition,
        "refusal": {"reason": reason, "message": "refusé par la règle de test"}, "status": "derived", "sources": []}]}
    return build(spec.root, concepts + [rule])


def test_a_fact_read_through_a_rule_of_rules_by_code_splits_signatures(spec, tmp_path):
    plain = BatchEngine(spec).relevance.profile(["G"])
    assert "context.zone_montagne" not in plain.leaves
    bumped = _with_rule_on(spec, ["G"], {"fact": "context.zone_montagne", "is": True})
    assert "context.zone_montagne" in BatchEngine(bumped).relevance.profile(["G"]).leaves
    claims = [_g_claim(context={"zone_montagne": v}) for v in (True, False, True, False)] + [_g_claim()]
    got, rejected, engine = _batch_rows(claims, bumped, tmp_path, columnar=False)
    assert not rejected
    assert got == _scalar_rows(claims, bumped)
    assert [(r[3], r[5]) for r in got][:2] == [("priced", None), ("refused", "NOT_ELIGIBLE")]
    assert engine.stats["signatures"] == 3          # true, false, absent
    # decided on the columns: the rule's truth, and an absent zone_montagne is its default (false)
    decided, _, engine = _batch_rows(claims, bumped, tmp_path)
    assert decided == got
    assert engine.stats["decision_keys"] == 2 and engine.stats["columnar_rows"] == len(claims)


def test_a_derived_fact_makes_its_fields_relevant(spec, tmp_path):
    """encounter.weekday (reduced: the day of the week) and doctor.optam (read from doctor.option) become
    relevant to G through a rule; claims differing only by them are priced apart, as the oracle does."""
    bumped = _with_rule_on(spec, ["G"], {"any": [{"fact": "encounter.weekday", "lt": 6},
                                                 {"fact": "doctor.optam", "is": True}]})
    profile = BatchEngine(bumped).relevance.profile(["G"])
    assert "weekday" in profile.reducers and "doctor.option" in profile.leaves
    claims = []
    for day in ("2025-03-07", "2025-03-08", "2025-03-09", "2025-03-10"):   # Fri, Sat, Sun, Mon
        for option in ("none", "OPTAM", "CAS", None):
            claim = _g_claim(date=day)
            if option:
                claim["doctor"]["option"] = option
            claims.append(claim)
    got, rejected, _ = _batch_rows(claims, bumped, tmp_path)
    assert not rejected
    assert got == _scalar_rows(claims, bumped)
    statuses = [(r[3], r[5]) for r in got]
    assert ("refused", "NOT_ELIGIBLE") in statuses and ("priced", None) in statuses


def test_impossible_dates_are_refused_as_by_the_schema(spec, tmp_path):
    """Dates are checked on the column (pattern, real calendar day, year 1 on): the same rows are refused as
    by the schema and the date checks of `convmed price`, the others are priced alike."""
    days = ["2024-02-29", "2025-02-29", "0000-01-01", "0001-01-01", "2025-13-01", "2025-04-31", "2025-4-30"]
    claims = [_g_claim(date=d) for d in days]
    claims += [_g_claim(patient={"birth_date": b}) for b in days + ["2025-03-05"]]
    got, rejected, _ = _batch_rows(claims, spec, tmp_path)
    invalid = {n for n, c in enumerate(claims, start=1) if validate_claim(c)}
    assert {r.row for r in rejected} == invalid
    assert len(invalid) >= 8 and 3 in invalid                      # year 0 is not a date of the schema
    assert got == _scalar_rows(claims, spec)


def test_integers_beyond_64_bits_take_the_scalar_path(repo, spec, tmp_path):
    """A JSON integer too large for a 64-bit column (valid for the schema) must not pass for an absent fact:
    its row is priced by the scalar path, and the claim without the fact keeps its own price."""
    def variants(base, key):
        out = []
        for value in (1, 99999999999999999999, None):
            claim = copy.deepcopy(base)
            claim.pop("history", None)     # (a history may send the row to the scalar path)
            if value is None:
                del claim["context"][key]
            else:
                claim["context"][key] = value
            out.append(claim)
        return out

    claims = None
    for base in _claims_of_vectors(repo):   # a claim whose price depends on an integer fact's presence
        for key, v in (base.get("context") or {}).items():
            if isinstance(v, int) and not isinstance(v, bool):
                trial = variants(base, key)
                rows = _scalar_rows(trial, spec)
                if rows and rows[0][3:] != rows[-1][3:]:
                    claims = trial
                    break
        if claims:
            break
    assert claims, "no vector whose price depends on an integer context fact"
    got, rejected, engine = _batch_rows(claims, spec, tmp_path)
    assert not rejected
    assert got == _scalar_rows(claims, spec)
    assert engine.stats["scalar_rows"] == 1


def test_the_same_lines_give_one_signature_whatever_fields_their_chunk_has(spec, tmp_path):
    """JSON Lines chunks decode `lines` with the fields they happen to meet, in the order met: the lines are
    put in one layout (readers.LINE_STRUCT) before hashing, so a claim is priced once for the whole file."""
    plain = _g_claim()
    with_amount = _g_claim(lines=[{"code": "G"}, {"amount": "5.00", "tarif_opposable": False, "code": "DA"}])
    claims = [plain, with_amount, plain, plain, _g_claim(lines=[{"tarif_opposable": True, "code": "G"}]), plain]
    got, rejected, engine = _batch_rows(claims, spec, tmp_path, chunk_rows=2, columnar=False)
    assert got == _scalar_rows(claims, spec)
    assert engine.stats["signatures"] == 3     # G, G + DA, G tarif_opposable: each once
    decided, _, engine = _batch_rows(claims, spec, tmp_path, chunk_rows=2)
    assert decided == got
    # all three decided on the columns: G alone (with or without its tarif_opposable), one key each; G + DA (DA's
    # base act is G: one component, § 2.7), one key per line of the component
    assert (engine.stats["columnar_signatures"], engine.stats["scalar_signatures"], engine.stats["decision_keys"]) \
        == (3, 0, 4)


def test_a_history_leaves_the_scalar_path_only_where_no_code_counts_acts(spec, tmp_path, claim_refused_by_its_history):
    """The pricer reads a claim's history only to count acts against a limit: a claim whose codes have no
    limit is priced on the fast path whatever its history, once its items are checked on the columns; an
    invalid item is still refused, with the validator's message, even when a valid claim shares its
    signature; a claim whose code has a limit (GL3: one a year) keeps the scalar path and its refusal."""
    limited = claim_refused_by_its_history
    unlimited = copy.deepcopy(limited)
    del unlimited["history"]

    def g(*items):
        return _g_claim(patient={"id": "p1"}, history=list(items))

    ok1 = {"date": "2025-01-02", "code": "G", "patient_id": "p1"}
    ok2 = {"date": "2024-12-31", "code": "GL3"}
    claims = [g(ok1), g(ok1, ok2), g(ok2), _g_claim(), limited, unlimited,
              g(ok1, {"date": "2025-02-30", "code": "G"}),        # not a calendar date
              g(ok1, {"date": "2025-01-02", "code": "g"}),        # pattern of a code
              g({"date": "2025-01-02"}),                          # code required
              g(ok1, {**ok2, "foo": "x"}),                        # no such property
              g({**ok1, "context": {"x": 1}}),                    # valid, left to the validator
              g()]                                                # an empty history
    got, rejected, engine = _batch_rows(claims, spec, tmp_path)
    assert got == _scalar_rows(claims, spec)
    assert {r.row for r in rejected} == {n for n, c in enumerate(claims, start=1) if validate_claim(c)} == {7, 8, 9, 10}
    statuses = {r[0]: r[3] for r in got}
    assert statuses[5] == "refused" and statuses[6] == "priced"   # GL3: the history counts
    # the scalar path: GL3 with its history, the four invalid histories, the one with an object property
    assert engine.stats["scalar_rows"] == 6


def test_scalar_rows_checked_on_their_columns_are_still_refused_where_invalid(spec, tmp_path,
                                                                           claim_refused_by_its_history):
    """A claim slow only for its history (GL3 counts acts) whose columns passed their checks is validated as a
    fast row is (the checked leaves left to the columns, its objects and history items by the schema, from a
    memory shared with the valid claims met before): every invalid one is still refused, with the oracle's
    first problem, the valid ones priced as the oracle prices them."""
    def variant(change):
        claim = copy.deepcopy(claim_refused_by_its_history)
        change(claim)
        return claim

    valid = [variant(lambda c: None), variant(lambda c: c["doctor"].update(id="d1")),
             variant(lambda c: c.update(date="2025-06-01"))]
    invalid = [variant(lambda c: c["doctor"].update(sector="S9")),            # a column's enum
               variant(lambda c: c["doctor"].pop("sector")),                  # a required property
               variant(lambda c: c["history"][0].update(date="2025-02-30")),  # a history item's date
               variant(lambda c: c["history"][0].update(code="g")),           # a history item's pattern
               variant(lambda c: c["lines"][0].update(code="")),              # a line's pattern
               variant(lambda c: c["doctor"].update(specialty="Médecine"))]   # a column's pattern
    claims = valid * 3 + invalid + valid
    got, rejected, engine = _batch_rows(claims, spec, tmp_path, chunk_rows=7)
    assert got == _scalar_rows(claims, spec)
    bad = {n for n, c in enumerate(claims, start=1) if validate_claim(c)}
    assert {r.row for r in rejected} == bad == set(range(10, 16))
    assert [(r.pointer, r.message) for r in sorted(rejected, key=lambda r: r.row)] == [
        (validate_claim(claims[n - 1])[0][0], validate_claim(claims[n - 1])[0][1]) for n in sorted(bad)]
    assert engine.stats["scalar_rows"] == len(claims)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(1, 3)), max_size=30))
def test_the_scalar_rows_are_merged_in_row_order(plan):
    """`_merge_by_row`: the fast rows' lines and the scalar path's, each in (row, index) order on disjoint
    rows, come out in (row, index) order, as a stable sort on the row would put them."""
    from convmed.batch.engine import _merge_by_row

    def frame(slow):
        data = [(row, i) for row, (is_slow, count) in enumerate(plan, start=1) if is_slow == slow
                for i in range(count)]
        return pl.DataFrame(data, schema={"row": pl.Int64, "index": pl.Int32}, orient="row")

    got = _merge_by_row(frame(False), frame(True))
    assert got.rows() == sorted(got.rows())
    assert got.height == sum(count for _, count in plan)


@pytest.mark.parametrize("named", [7, 1200])
def test_public_holidays_by_territory_agree(spec, tmp_path, named):
    """encounter.public_holiday, read by F (dimanche ou jour férié), is decided once per date for the claims that
    name no territory (metropole) and per (date, territory) for those that name one, few or many in a chunk: the
    same prices as the oracle, the Réunion's 20 December (a Saturday) a holiday there only."""
    days = ["2025-12-20", "2025-05-29", "2025-05-27", "2025-07-14", "2025-12-26", "2025-11-11", "2025-03-09"]
    territories = ["metropole", "reunion", "guadeloupe", "martinique", "mayotte"]
    claims = []
    for k in range(named + 600):
        claim = {"date": days[k % len(days)], "time": "10:00", "context": {"emergency": True},
                 "doctor": {"specialty": "medecine_generale", "sector": "S1"}, "lines": [{"code": "G"}, {"code": "F"}]}
        if k < named:   # every territory on every date
            claim["territory"] = territories[k % len(territories)]
            claim["date"] = days[(k // len(territories)) % len(days)]
        claims.append(claim)
    got, rejected, _ = _batch_rows(claims, spec, tmp_path, chunk_rows=5000)
    assert not rejected and got == _scalar_rows(claims, spec)
    status = {(c["date"], c.get("territory")): r[3] for c, r in zip(claims, (r for r in got if r[2] == "F"))}
    held = {key for key, value in status.items() if value != "refused"}   # F's amount may be a gap, not a refusal
    assert {("2025-12-20", "reunion"), ("2025-07-14", None), ("2025-03-09", None)} <= held
    assert not {("2025-12-20", None), ("2025-05-27", None), ("2025-12-20", "metropole")} & held


# ---------------------------------------------------------------- the columnar backend (convmed.batch.columnar)
def _claim(code="G", date="2025-03-10", specialty="medecine_generale", lines=None, **fields):
    claim = {"id": "c", "date": date, "doctor": {"specialty": specialty, "sector": "S1"},
             "patient": {"age_years": 40}, "lines": lines or [{"code": code}]}
    claim.update(fields)
    return claim


@pytest.mark.parametrize("first, second", [
    # the territory: G has no value outside métropole in the sources (VALUE_GAP) but 30.00 there
    (_claim(), _claim(territory="guadeloupe")),
    # the specialty, for an act whose values are per specialty: CS in paediatrics has no amount in the sources
    # (VALUE_GAP), in gynécologie médicale its start is not dated (DATE_UNCERTAIN); the requirements hold for both
    (_claim("CS", specialty="pediatrie"), _claim("CS", specialty="gynecologie_medicale")),
    # the date's class: G at 25 € before 22 December 2024, 30 € after
    (_claim(date="2024-06-01"), _claim(date="2025-06-01")),
    # a requirement's truth: CS refused to a general practitioner
    (_claim("CS", specialty="pediatrie"), _claim("CS", specialty="medecine_generale")),
])
def test_a_decision_key_tells_apart_what_a_price_depends_on(spec, tmp_path, first, second):
    """Two claims that differ in one part of the decision key, in one chunk: a key without that part would give the
    second the first's answer."""
    expected = _scalar_rows([first, second], spec)
    assert expected[0][3:6] != expected[1][3:6]      # the scalar pricer tells them apart
    got, rejected, engine = _batch_rows([first, second], spec, tmp_path)
    assert not rejected and got == expected
    assert engine.stats["columnar_rows"] == 2 and engine.stats["decision_keys"] == 2


def test_lines_that_read_one_another_are_decided_by_their_component(spec, tmp_path):
    """SEMANTIQUE § 2.7: lines that read one another are priced together, by the keys of their component. Two
    CCAM acts priced from their base tariffs under the endometriosis association rule (not dated: the second's
    rate, 75 %, is uncertain) are not two lines alone (each at its full base tariff), and which one is second
    depends on the other's base tariff; MEG reads its base act G; a dépassement bound to COE makes it no longer
    at tarif opposable (COE requires it), one bound to another line does not."""
    context = {"endometriosis_surgery": True}
    alone = [_claim(lines=[{"code": "JKGD001", "base_amount": "40.00"}], context=context),
             _claim(lines=[{"code": "JKKD001", "base_amount": "30.00"}], context=context)]
    both = _claim(lines=[{"code": "JKGD001", "base_amount": "40.00"}, {"code": "JKKD001", "base_amount": "30.00"}],
                  context=context)
    swapped = _claim(lines=[{"code": "JKGD001", "base_amount": "30.00"}, {"code": "JKKD001", "base_amount": "40.00"}],
                     context=context)
    claims = alone + [both, swapped]
    expected = _scalar_rows(claims, spec)
    assert [r[3] for r in expected] == ["priced", "priced", "priced", "unknown", "unknown", "priced"]
    got, rejected, engine = _batch_rows(claims, spec, tmp_path)
    assert not rejected and got == expected
    assert engine.stats["columnar_rows"] == 4 and engine.stats["scalar_signatures"] == 0
    # MEG's base act is G (one component); G and G are two components
    pair = _claim(lines=[{"code": "MEG"}, {"code": "G"}], patient={"age_years": 3})
    free = _claim(lines=[{"code": "G"}, {"code": "G"}])
    got, rejected, engine = _batch_rows([pair, free], spec, tmp_path)
    assert not rejected and got == _scalar_rows([pair, free], spec)
    assert engine.stats["columnar_rows"] == 2 and engine.stats["scalar_signatures"] == 0
    child = {"age_years": 1}
    day = "2025-08-01"   # COE 60.00 from July 2025 (000)
    coe = [_claim(date=day, lines=[{"code": "COE"}], patient=child),
           _claim(date=day, lines=[{"code": "COE"}, {"code": "DE", "amount": "10.00"}], patient=child),
           _claim(date=day, lines=[{"code": "COE"}, {"code": "G"}, {"code": "DE", "amount": "10.00", "base_line": 1}],
                  patient=child)]
    expected = _scalar_rows(coe, spec)
    assert [r[3] for r in expected if r[2] == "COE"] == ["priced", "refused", "priced"]
    got, rejected, engine = _batch_rows(coe, spec, tmp_path)
    assert not rejected and got == expected
    assert engine.stats["columnar_rows"] == 3

def test_the_shape_of_a_list_of_lines(spec):
    """Columnar.shape: each line's component, position, renumbered designation and whether a dépassement line
    has it for base act (the column line.tarif_opposable reads, § 1.3); no shape for a non-cumul whose `unless`
    reads the other line (the claim keeps the signature path)."""
    columnar = BatchEngine(spec).columnar
    shape = columnar.shape([{"code": "G"}, {"code": "VG"}, {"code": "DE", "amount": "5.00", "base_line": 1}])
    assert [(s.first, s.position, s.size, s.base_line, s.depassement) for s in shape] == [
        (0, 0, 1, None, False), (1, 0, 2, None, True), (1, 1, 2, 0, False)]
    shape = columnar.shape([{"code": "MEG"}, {"code": "G"}, {"code": "DE", "amount": "5.00"}])
    # DE applies to the first clinical act, G, not to its majoration MEG: one component of three lines
    assert [(s.first, s.position, s.size, s.depassement) for s in shape] == [
        (0, 0, 3, False), (0, 1, 3, True), (0, 2, 3, False)]
    assert columnar.shape([{"code": "GLQP012", "base_amount": "40.00"}, {"code": "G"}]) is None


def test_a_line_read_line_by_line_reads_whether_its_base_is_billed(spec, tmp_path):
    """VG's value is unknown on both dates, but on 17 July 2024 its date is uncertain with no billed value
    before (not known to be billed: the dépassements depending on it are unknown), on 13 January 2025 it has a
    value gap (billed, amount unknown: the first DE is priced, the second refused by the one-per-act limit).
    DE's own key is the same on both dates: only the billable part of VG's outcome tells them apart."""
    claims = [_claim(date=day, lines=[{"code": "VG"}, {"code": "DE", "amount": "1.00"}, {"code": "DE", "amount": "1.00"}])
              for day in ("2024-07-17", "2025-01-13")]
    expected = _scalar_rows(claims, spec)
    assert [(r[3], r[5]) for r in expected if r[2] == "DE"] == [
        ("unknown", "DEPENDENCY_UNKNOWN"), ("unknown", "DEPENDENCY_UNKNOWN"), ("priced", None),
        ("refused", "FREQUENCY_LIMIT")]
    got, rejected, engine = _batch_rows(claims, spec, tmp_path)
    assert not rejected and got == expected and engine.stats["columnar_rows"] == 2
