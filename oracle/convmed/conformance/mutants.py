"""Semantic mutants of the reference oracle: plausible wrong readings of spec/SEMANTIQUE.md.

The suite pins the semantics only if each of these wrong engines fails at least one *required* vector
(`convmed conformance lint --mutants`, run in CI by tests/test_conformance_mutants.py). Each mutant is a
small subclass of `convmed.pricing.Pricer` that changes one rule of the document, the way an implementer
who misread it would; the production pricer never sees them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from convmed import claim_plan
from convmed.facts import Facts, MissingFact
from convmed.pricing import NO, STAGES, YES, LineOutcome, Pricer
from convmed.timeline import Timeline


def _swapped(i: int) -> tuple[str, ...]:
    stages = list(STAGES)
    stages[i], stages[i + 1] = stages[i + 1], stages[i]
    return tuple(stages)


def _stage_order(stages: tuple[str, ...]):
    return type("StageOrder", (Pricer,), {"STAGES": stages})


class RulesBeforeOwn(Pricer):
    """§ 2.2 misread: the common rules' items before the act's own."""

    def _declarations(self, concept, key):
        own = [(o, i) for o, i in super()._declarations(concept, key) if o is concept]
        return [(o, i) for o, i in super()._declarations(concept, key) if o is not concept] + own


class LimitsCountRefused(Pricer):
    """§ 3.6 misread: a limit counts the earlier lines of the claim even when they are refused."""

    def _claim_history(self, s):
        sure, maybe = super()._claim_history(s)
        claim = s.plan.claim
        patient = claim.get("patient") or {}
        refused = [{"date": claim["date"], "code": o.code, "patient_id": patient.get("id"),
                    "doctor_id": claim["doctor"].get("id"), "stay_id": patient.get("stay_id"),
                    "context": claim.get("context", {})} for o in s.done.values() if o.billable is NO]
        return sure + refused, maybe


class DependentOverRefusedBase(Pricer):
    """§ 3.4 misread: a base act counts as soon as it is on the claim, refused or not."""

    def _base_retained(self, outcome):
        return YES


class LinesInIndexOrder(Pricer):
    """§ 2.5 misread: the lines evaluated by index; a base act or a winning line not yet evaluated counts as
    absent (refused)."""

    def _plan(self, claim):
        plan = super()._plan(claim)
        return replace(plan, order=tuple(range(len(plan.lines))))

    @staticmethod
    def _outcome_of(s, index):
        found = s.done.get(index)
        if found is None:
            return LineOutcome(index, s.plan.lines[index].code, None, "refused", NO, (), reason="NOT_EVALUATED",
                               message="pas encore évaluée")
        return found


class _YieldsRewritten(Pricer):
    YIELDS: dict = {}

    def _plan(self, claim):
        index = claim_plan.non_cumul_index(self.spec, lambda item: self.YIELDS.get(item["yields"], item["yields"]))
        return claim_plan.plan(self.spec, claim, index=index)


class NonCumulWrongLine(_YieldsRewritten):
    """§ 2.4 misread: the declared direction reversed — the line that should stay is refused."""
    YIELDS = {"self": "other", "other": "self"}


class NonCumulBoth(_YieldsRewritten):
    """§ 2.4 misread: every non-cumul refuses both lines."""
    YIELDS = {"self": "both", "other": "both"}


class MissingFactLeftToRight(Pricer):
    """§ 1.2 misread: `all` / `any` read left to right and the first missing fact makes the condition
    unknown (the semantics of convmed 0.1)."""

    def _truth(self, condition, facts):
        try:
            return _left_to_right(condition, facts), ()
        except MissingFact as m:
            return None, (m.name,)

    def _truth_of(self, function, condition, facts, missing):
        value, names = self._truth(condition, facts)
        missing.extend(names)
        return value


def _left_to_right(cond, facts) -> bool:
    if "all" in cond:
        return all(_left_to_right(c, facts) for c in cond["all"])
    if "any" in cond:
        return any(_left_to_right(c, facts) for c in cond["any"])
    if "not" in cond:
        return not _left_to_right(cond["not"], facts)
    from convmed.conditions import compiled

    value = compiled(cond)(facts, [])
    if value is None:
        raise MissingFact(cond["fact"])
    return value


class DromFallsBackToMetropole(Pricer):
    """§ 3.7 b misread: in a territory without its own entry the métropole value applies."""

    def _value_resolution(self, s):
        timeline = getattr(s.concept, "_national_timeline", None)
        if timeline is None:
            timeline = Timeline(s.concept.timeline.entries, national=True)
            s.concept._national_timeline = timeline
        return timeline.resolve(s.plan.on, s.plan.territory, s.plan.specialty)


class _FlagOnlyFacts(Facts):
    def _line_tarif_opposable(self):
        return self.line.get("tarif_opposable", False)


class Sector1NotTarifOpposable(Pricer):
    """§ 1.3 misread: a line is at tarif opposable only when the claim flags it."""

    def _make_facts(self, plan, index):
        return _FlagOnlyFacts(plan.claim, index, self.facts_vocabulary, plan.on, plan=plan)


class NoExternalBase(Pricer):
    """§ 3.1 misread: a code outside the spec is always UNKNOWN_CODE (no external base tariff)."""

    def _external_base(self, s):
        return None


class MissingFactFirstInNonCumul(Pricer):
    """§ 3.5 misread: the first refusal of the relations wins, a missing fact hiding a certain refusal."""

    @staticmethod
    def _first(verdicts):
        return next((v for v in verdicts if v.status == "refused"), None) or (verdicts[0] if verdicts else None)


class LimitMissingFactAlwaysRefuses(Pricer):
    """§ 3.6 misread: a `same` fact the claim lacks refuses as soon as a candidate has the code and the period,
    even when the candidate does not give that fact (an absent field read as « unknown », not as shared)."""

    @staticmethod
    def _same_facts(limit, h, facts):
        found = Pricer._same_facts(limit, h, facts)
        if found is YES:
            for name in limit.get("same", []):
                if name != "patient.id":
                    try:
                        facts.get(name)
                    except MissingFact:
                        return name
        return found


class AssociationUncertainAllUnknown(Pricer):
    """§ 4.1 misread: under an association rule of uncertain date every concerned line is unknown, even the one
    the rule pays the same amount."""

    def _associations(self, plan, outcomes):
        before = {o.index: o.amount for o in outcomes}
        after = super()._associations(plan, outcomes)
        out = []
        for o in after:
            uncertain = any(st.get("stage") == "association" and "date d'effet" in st.get("detail", "")
                            for st in o.trace)
            if uncertain and o.status == "priced" and o.amount == before.get(o.index):
                o = replace(o, status="unknown", reason="DATE_UNCERTAIN", billable=None, amount=None,
                            unit_value=None)
            out.append(o)
        return out


@dataclass(frozen=True)
class Mutant:
    name: str
    description: str
    pricer: type


def mutants() -> list[Mutant]:
    found = [Mutant(f"swap_{a}_{b}", f"étapes {a} et {b} inversées (§ 3)", _stage_order(_swapped(i)))
             for i, (a, b) in enumerate(zip(STAGES, STAGES[1:]))]
    value_first = ("in_force", "value") + tuple(s for s in STAGES if s not in ("in_force", "value"))
    found += [
        Mutant("value_before_requirements", "DATE_UNCERTAIN et VALUE_GAP décidés avant les exigences (§ 3, § 3.7)",
               _stage_order(value_first)),
        Mutant("rules_before_own", "exigences des règles communes avant celles de l'acte (§ 2.2)", RulesBeforeOwn),
        Mutant("limits_count_refused", "une limite compte les lignes refusées de la demande (§ 3.6)", LimitsCountRefused),
        Mutant("dependent_over_refused_base", "une ligne dépendante tarifée sur un acte de base refusé (§ 3.4)",
               DependentOverRefusedBase),
        Mutant("lines_in_index_order", "lignes évaluées dans l'ordre des indices, sans les dépendances (§ 2.5)",
               LinesInIndexOrder),
        Mutant("non_cumul_wrong_line", "non-cumul : la ligne qui devait rester est refusée (§ 2.4)", NonCumulWrongLine),
        Mutant("non_cumul_both", "non-cumul : les deux lignes refusées (§ 2.4)", NonCumulBoth),
        Mutant("missing_fact_left_to_right", "fait manquant lu de gauche à droite dans all / any (§ 1.2)",
               MissingFactLeftToRight),
        Mutant("drom_metropole_fallback", "dans un DROM sans valeur propre, la valeur de la métropole (§ 3.7 b)",
               DromFallsBackToMetropole),
        Mutant("sector1_not_tarif_opposable", "secteur 1 pas à tarif opposable sans drapeau de ligne (§ 1.3)",
               Sector1NotTarifOpposable),
        Mutant("no_external_base", "règle du tarif de base externe retirée (§ 3.1)", NoExternalBase),
        Mutant("non_cumul_missing_fact_first", "non-cumul : un fait manquant l'emporte sur un refus certain (§ 3.5)",
               MissingFactFirstInNonCumul),
        Mutant("limit_missing_fact_always", "limite : un fait `same` manquant refuse même si le candidat ne le "
                                             "donne pas (§ 3.6)", LimitMissingFactAlwaysRefuses),
        Mutant("association_uncertain_all_unknown", "association incertaine : toutes les lignes inconnues, même "
                                                    "celle que la règle paie autant (§ 4.1)",
               AssociationUncertainAllUnknown),
    ]
    return found


def mutation_report(suite, spec, level: str = "required") -> list[dict]:
    """Each mutant with the required claim vectors it fails (killed) — an empty list means it survives."""
    from convmed.conformance.compare import differences

    cases = [c for c in suite.cases if c.kind == "claim" and c.level == level]
    out = []
    for m in mutants():
        pricer = m.pricer(spec)
        killers = []
        for case in cases:
            try:
                result = pricer.price(case.input)
            except Exception as exc:  # noqa: BLE001 - a mutant that crashes on a vector is killed by it
                killers.append({"id": case.id, "difference": f"{type(exc).__name__}: {exc}"})
                continue
            diff = differences(case.expected, result)
            if diff:
                killers.append({"id": case.id, "difference": diff[0].render()})
        out.append({"mutant": m.name, "description": m.description, "killed": bool(killers),
                    "killed_by": killers})
    return out
