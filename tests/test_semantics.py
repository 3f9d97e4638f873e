"""spec/SEMANTIQUE.md, the parts a vector cannot show alone: the truth tables of § 1.2 on every combination,
the order of § 2.5, the derivation of § 1.3, the territorial scope of § 3.7 b."""

from __future__ import annotations

import itertools

import pytest

from convmed.claim_plan import evaluation_order, plan
from convmed.conditions import MissingFacts, evaluate, truth
from convmed.facts import MissingFact
from convmed.pricing import price_claim

VALUES = {"t": True, "f": False, "u": None}


class _Facts:
    def __init__(self, values):
        self.values = values

    def get(self, name):
        value = self.values[name]
        if value is None:
            raise MissingFact(name)
        return value


def _leaf(name):
    return {"fact": name, "is": True}


def _kleene_and(xs):
    return False if False in xs else None if None in xs else True


def _kleene_or(xs):
    return True if True in xs else None if None in xs else False


@pytest.mark.parametrize("n", [1, 2, 3])
def test_all_any_not_follow_kleene_on_every_combination_and_order(n):
    names = [f"x.f{i}" for i in range(n)]
    for combo in itertools.product(VALUES.values(), repeat=n):
        facts = _Facts(dict(zip(names, combo)))
        for perm in itertools.permutations(range(n)):
            leaves = [_leaf(names[i]) for i in perm]
            assert truth({"all": leaves}, facts)[0] == _kleene_and(combo)
            assert truth({"any": leaves}, facts)[0] == _kleene_or(combo)
        inner = truth({"any": [_leaf(x) for x in names]}, facts)[0]
        assert truth({"not": {"any": [_leaf(x) for x in names]}}, facts)[0] == (None if inner is None else not inner)


def test_missing_facts_are_those_of_the_undecided_parts():
    facts = _Facts({"a.x": None, "a.y": True, "a.z": None})
    assert truth({"any": [_leaf("a.x"), _leaf("a.y")]}, facts) == (True, ())          # decided: no missing fact
    assert truth({"all": [_leaf("a.x"), _leaf("a.y"), _leaf("a.z")]}, facts) == (None, ("a.x", "a.z"))
    with pytest.raises(MissingFacts) as exc:
        evaluate({"all": [_leaf("a.z"), _leaf("a.x")]}, facts)
    assert exc.value.names == ("a.z", "a.x") and isinstance(exc.value, MissingFact)
    assert truth({"fact": "a.x", "present": False}, facts) == (True, ())           # present is never unknown


def test_evaluation_order_is_topological_then_by_index():
    # 0 depends on 2, 1 depends on 0; the smallest ready index first: 2 (0 and 1 wait), then 0, then 1, then 3
    assert evaluation_order([frozenset({2}), frozenset({0}), frozenset(), frozenset()]) == ((2, 0, 1, 3), frozenset())
    order, cycles = evaluation_order([frozenset({1}), frozenset({0}), frozenset()])
    assert order == (2, 0, 1) and cycles == {0, 1}


def test_a_claim_cycle_refuses_its_lines(spec):
    claim = {"date": "2025-03-03", "doctor": {"specialty": "dermatologie", "sector": "S1"}, "context": {"hors_parcours": True},
             "lines": [{"code": "DA", "amount": "3.00", "base_line": 1}, {"code": "DE", "amount": "3.00", "base_line": 0}]}
    p = plan(spec, claim)
    assert p.cycles == {0, 1}
    out = price_claim(claim, spec)
    assert [(line["status"], line["reason"]) for line in out["lines"]] == [("refused", "MISSING_BASE_ACT")] * 2


@pytest.mark.parametrize("sector, lines, expected", [
    ("S1", [{"code": "CS"}], True),                                             # sector 1, no dépassement
    ("S1", [{"code": "CS", "tarif_opposable": False}], False),                  # the claim says otherwise
    ("S1", [{"code": "CS"}, {"code": "DE", "amount": "5.00"}], False),          # a dépassement applies to it
    ("S2", [{"code": "CS"}], False),                                            # sector 2: the claim says it
    ("S2", [{"code": "CS", "tarif_opposable": True}], True),
])
def test_line_tarif_opposable_is_derived_from_the_sector(spec, sector, lines, expected):
    from convmed.facts import Facts

    claim = {"date": "2025-03-03", "doctor": {"specialty": "dermatologie", "sector": sector}, "lines": lines}
    facts = Facts(claim, 0, spec.vocabulary("facts"), plan=plan(spec, claim))
    assert facts.get("line.tarif_opposable") is expected


def test_a_drom_without_its_own_entry_is_a_gap_and_its_own_entry_applies(spec):
    def status(territory, code, **line):
        claim = {"date": "2026-03-02", "territory": territory, "doctor": {"specialty": "medecine_generale", "sector": "S1"},
                 "context": {"place": "domicile"}, "lines": [{"code": "VG"}, {"code": code, **line}]}
        out = price_claim(claim, spec)["lines"][1]
        return out["status"], out.get("amount") or out.get("reason")
    # 004: IK 0,75 € in Guadeloupe (its own entry), no value in métropole (gap G-08)
    assert status("guadeloupe", "IK", quantity="10") == ("priced", "7.50")
    assert status("metropole", "IK", quantity="10") == ("unknown", "VALUE_GAP")
    # 000: the MD « Montagne » « en métropole et en DROM de 15 € » (territorial_scope national)
    assert status("reunion", "MDM") == status("metropole", "MDM")
