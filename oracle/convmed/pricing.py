"""The per-encounter oracle: price each billed line of a claim, with its trace.

This module implements spec/SEMANTIQUE.md; the section numbers below are that document's. Pure:
`price_claim(claim, spec)` takes a schema-valid claim (a dict) and returns the result dict
(schemas/result.schema.json). Reading files and validating input happen at the edges
(`convmed.io_claims`, the CLI).

A claim is evaluated in three steps over the immutable claim: its structure (`convmed.claim_plan`: what
each line is, which lines it depends on, in which order the lines are evaluated, § 2); each line in that
order through the line stages (§ 3), seeing only the outcomes of the lines evaluated before it; then the
claim stages (§ 4: associations, total). Nothing about a claim is kept on the Pricer, which holds only what
it prepares once from the spec.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from convmed import __version__
from convmed import claim_plan
from convmed.claim_plan import ClaimPlan, LinePlan
from convmed.conditions import describe, truth
from convmed.facts import Facts, MissingFact, PairFacts, history_fact
from convmed.model import Concept, Spec
from convmed.money import fmt, parse_decimal, round_to
from convmed.timeline import Entry, item_window
from convmed.timeline import validity as item_validity

_STATUS_FR = {"signed": "signé", "draft": "projet", "convention_2016": "convention 2016",
              "proposal": "proposition", "derived": "dérivé"}

# The line stages, in order (SEMANTIQUE.md § 3). `lookup` always comes first (every other stage needs the act).
STAGES = ("in_force", "requirements", "base", "non_cumul", "limits", "value", "amount")

YES, NO, UNDECIDED = True, False, None   # is a line billable (« retenue », § 3.9)


@dataclass(frozen=True, slots=True)
class Verdict:
    """A stage that does not pass: the line is refused (certainly) or unknown; `billable` says whether the line
    is nevertheless billed (an unknown amount: VALUE_GAP), not billed (refused) or undecided."""
    status: str
    reason: str
    message: str
    instead: str | None = None
    billable: bool | None = NO
    step: dict | None = field(default=None, compare=False)   # the trace step that decides (marked `decisive`)


@dataclass(frozen=True, slots=True)
class LineOutcome:
    index: int
    code: str
    concept_id: str | None
    status: str                      # priced | refused | unknown
    billable: bool | None            # YES / NO / UNDECIDED (§ 3.9)
    trace: tuple
    amount: Decimal | None = None
    unit_value: Decimal | None = None
    reason: str | None = None
    message: str | None = None
    instead: str | None = None
    external_base: Decimal | None = None   # base tariff of an act priced from an external table (associations)

    def as_dict(self) -> dict:
        out = {"index": self.index, "code": self.code}
        if self.concept_id:
            out["concept"] = self.concept_id
        out["status"] = self.status
        if self.status == "priced":
            out["amount"] = fmt(self.amount)
            out["unit_value"] = fmt(self.unit_value)
        else:
            out["reason"], out["message"] = self.reason, self.message
            if self.instead:
                out["instead"] = self.instead
        out["trace"] = list(self.trace)   # the steps are this line's own (never shared with another result)
        return out


class LineState:
    """The working state of one line while its stages run (local to one evaluation, never shared)."""

    __slots__ = ("plan", "line_plan", "done", "facts", "concept", "trace", "deferred", "existence", "unit_value",
                 "amount", "resolution", "filled", "overlays")

    def __init__(self, plan: ClaimPlan, line_plan: LinePlan, done: dict, facts: Facts):
        self.plan, self.line_plan, self.done, self.facts = plan, line_plan, done, facts
        self.concept: Concept | None = None
        self.trace: list = []
        self.deferred: list = []          # rules of uncertain date that could refuse (§ 3.7 a)
        self.existence: tuple | None = None   # (previous, entry) when the code may not be in force yet
        self.unit_value: Decimal | None = None
        self.amount: Decimal | None = None
        self.resolution = None            # the métropole resolution of the in_force stage, reused by value
        self.filled = False               # the value came from an overlay or the line's base_amount
        self.overlays: list = []

    @property
    def index(self) -> int:
        return self.line_plan.index

    @property
    def line(self) -> dict:
        return self.plan.claim["lines"][self.index]

    @property
    def code(self) -> str:
        return self.line_plan.code

    def step(self, stage: str, step: str, rule: str, outcome: str, detail: str, **extra) -> dict:
        s = {"stage": stage, "step": step, "rule": rule, "outcome": outcome, "detail": detail}
        s.update({k: v for k, v in extra.items() if v is not None})
        self.trace.append(s)
        return s


def _sources(raw: dict) -> list[dict]:
    return [{k: s[k] for k in ("seed", "path", "quote")} for s in raw.get("sources", [])]


def _value_text(entry: Entry | None) -> str:
    if entry is None:
        return "pas en vigueur"
    return "lacune" if entry.is_gap else "supprimé" if entry.is_abolished else fmt(entry.value)


class Pricer:
    STAGES = STAGES

    def __init__(self, spec: Spec, overlays: list | None = None):
        self.spec = spec
        self.overlays = list(overlays or [])  # convmed.overlay.Overlay, loaded only when asked
        self._spec_version = spec.version
        self.facts_vocabulary = spec.vocabulary("facts")
        self._roundings: dict[str, Concept] = {}  # applies_to -> rounding rule (the first, as Spec.rounding)
        for c in spec.of_kind("rounding"):
            self._roundings.setdefault(c.data.get("applies_to"), c)
        line_rounding = self._roundings.get("line_amount")
        self.rounding = line_rounding.data if line_rounding else None
        self.rounding_id = line_rounding.id if line_rounding else None
        self._association_rules = spec.of_kind("association")
        # memos of pure functions of spec items (keyed by id: the pricer keeps the spec alive)
        self._memo_sources: dict[int, list[dict]] = {}
        self._memo_described: dict[int, str] = {}
        self._memo_windows: dict[int, tuple[date | None, Entry | None]] = {}
        self._memo_declarations: dict[tuple[int, str], list] = {}
        self._memo_value_steps: dict[tuple, dict] = {}
        self._memo_requirements: dict[int, list[tuple]] = {}
        self._stage_functions = tuple(getattr(self, f"_stage_{name}") for name in self.STAGES)

    # ------------------------------------------------------------------ spec helpers (memoised)
    def _src(self, raw: dict) -> list[dict]:
        found = self._memo_sources.get(id(raw))
        if found is None:
            found = self._memo_sources[id(raw)] = _sources(raw)
        return found

    def _describe(self, condition: dict) -> str:
        found = self._memo_described.get(id(condition))
        if found is None:
            found = self._memo_described[id(condition)] = describe(condition)
        return found

    def _label(self, concept: Concept) -> str:
        found = self._memo_described.get(id(concept))
        if found is None:
            found = self._memo_described[id(concept)] = f"{concept.data['code']} : {concept.data['label']}"
        return found

    def _window(self, item: dict) -> tuple[date | None, Entry | None]:
        found = self._memo_windows.get(id(item))
        if found is None:
            found = self._memo_windows[id(item)] = item_window(item)
        return found

    def _valid(self, item: dict, on: date) -> str:
        return item_validity(self._window(item), on)

    def _declarations(self, concept: Concept, key: str) -> list[tuple[Concept, dict]]:
        """§ 3.3: the act's own items, then those of the rules naming its code (rules in id order)."""
        found = self._memo_declarations.get((id(concept), key))
        if found is None:
            found = self._memo_declarations[(id(concept), key)] = claim_plan.declarations(self.spec, concept, key)
        return found

    def _truth(self, condition: dict, facts):
        """§ 1: three-valued truth of a condition and the facts that leave it unknown."""
        return truth(condition, facts)

    def _plan(self, claim: dict) -> ClaimPlan:
        return claim_plan.plan(self.spec, claim)

    def _make_facts(self, plan: ClaimPlan, index: int) -> Facts:
        return Facts(plan.claim, index, self.facts_vocabulary, plan.on, plan=plan)

    @staticmethod
    def _outcome_of(s: "LineState", index: int) -> LineOutcome:
        """The outcome of a line this one depends on: always evaluated before it (§ 2.5)."""
        return s.done[index]

    # ------------------------------------------------------------------ a claim
    def outcomes(self, claim: dict) -> tuple[ClaimPlan, list[LineOutcome], list[str]]:
        """The claim's structure, each line's outcome (in index order, after the claim stages) and the overlays
        read."""
        plan = self._plan(claim)
        done: dict[int, LineOutcome] = {}
        overlays_used: list[str] = []
        for i in plan.order:
            done[i] = self._evaluate(plan, i, done, overlays_used)
        outcomes = [done[i] for i in range(len(plan.lines))]
        return plan, self._associations(plan, outcomes), overlays_used

    def price(self, claim: dict) -> dict:
        plan, outcomes, overlays_used = self.outcomes(claim)
        total = sum((o.amount for o in outcomes if o.status == "priced"), Decimal("0"))
        out = {"claim_id": claim["id"]} if "id" in claim else {}
        out.update(convmed={"oracle_version": __version__, "spec_version": self._spec_version,
                            "spec_digest": self.spec.digest},
                   date=claim["date"], territory=plan.territory, lines=[o.as_dict() for o in outcomes],
                   total=fmt(total), complete=all(o.status != "unknown" for o in outcomes))
        if overlays_used:
            out["convmed"]["overlays"] = overlays_used
        return out

    # ------------------------------------------------------------------ one line (§ 3)
    def _evaluate(self, plan: ClaimPlan, index: int, done: dict, overlays_used: list) -> LineOutcome:
        lp = plan.lines[index]
        s = LineState(plan, lp, done, self._make_facts(plan, index))
        verdict = self._stage_lookup(s)
        if verdict is None and s.concept is not None:
            for stage in self._stage_functions:
                verdict = stage(s)
                if verdict is not None:
                    break
            else:
                if s.amount is None:   # only when a stage order puts `amount` before `value` (a mutant)
                    verdict = self._stage_amount(s)
        for name in s.overlays:
            if name not in overlays_used:
                overlays_used.append(name)
        concept_id = s.concept.id if s.concept is not None else None
        external = s.unit_value if (lp.external or (s.concept is not None and s.concept.data.get("pricing")
                                                    == "external_base")) else None
        if verdict is not None:
            decisive = verdict.step if verdict.step is not None else next(
                (st for st in reversed(s.trace) if st["outcome"] in ("fail", "unknown")), None)
            if decisive is not None:
                decisive["decisive"] = True
            return LineOutcome(index, lp.code, concept_id, verdict.status, verdict.billable, tuple(s.trace),
                               reason=verdict.reason, message=verdict.message, instead=verdict.instead)
        return LineOutcome(index, lp.code, concept_id, "priced", YES, tuple(s.trace), amount=s.amount,
                           unit_value=s.unit_value, external_base=external)

    # -- § 3.1 lookup
    def _stage_lookup(self, s: LineState) -> Verdict | None:
        code = s.code
        if s.index in s.plan.cycles:
            s.step("lookup", "lookup", code, "fail", "dépendance circulaire entre lignes (base_line / modifies)")
            return Verdict("refused", "MISSING_BASE_ACT",
                           f"{code} : la ligne {s.index} dépend, par base_line ou modifies, d'une ligne qui dépend "
                           f"d'elle ; aucune des deux n'a d'acte de base.")
        concept = s.line_plan.concept
        if concept is not None:
            s.concept = concept
            s.trace.append({"stage": "lookup", "step": "lookup", "rule": concept.ref, "outcome": "pass",
                            "detail": self._label(concept)})
            return None
        base = self._external_base(s) if s.line_plan.external else None
        if base is not None:
            s.unit_value = s.amount = base
            s.step("lookup", "lookup", "external_base", "pass",
                   f"{code} : code CCAM absent du spec, tarifé à son tarif de base externe ({fmt(base)}) et compté "
                   f"comme acte technique (règle du tarif de base externe, SEMANTIQUE.md § 3.1)")
            return None
        known = next((i for i in (self.spec.concepts["coverage"].data["index"] if "coverage" in self.spec.concepts
                                  else []) if i["name"] == code and "gap" in i), None)
        s.step("lookup", "lookup", code, "fail", f"{code} : code absent du spec")
        return Verdict("refused", "UNKNOWN_CODE",
                       f"Le code {code} n'existe pas dans le spec convmed {self.spec.version}"
                       + (f" : code nommé par les sources mais non encodé — {known['gap']}" if known else "")
                       + " (un acte CCAM se tarife avec son tarif de base : line.base_amount ou --overlay).")

    # -- § 3.2 in force
    def _stage_in_force(self, s: LineState) -> Verdict | None:
        concept, plan = s.concept, s.plan
        code = concept.data["code"]
        res = concept.timeline.resolve(plan.on, "metropole", plan.specialty)
        if res.entry is None:
            res = concept.timeline.resolve(plan.on, plan.territory, plan.specialty)   # a code of some territories only
        if res.entry is None:
            track = concept.timeline.track("metropole", plan.specialty) or concept.timeline.track(
                plan.territory, plan.specialty)
            when = f" (première valeur : {track[0].start_text()})" if track else ""
            s.step("in_force", "in_force", concept.ref, "fail", f"{code} n'est pas en vigueur le {plan.on}{when}")
            return Verdict("refused", "NOT_IN_FORCE", f"{code} n'est pas en vigueur le {plan.on}{when}.")
        entry = res.entry
        if entry.is_abolished and not res.uncertain:
            s.step("in_force", "in_force", f"{concept.ref}#values/{entry.key}", "fail",
                   f"{code} est supprimé depuis le {entry.start_text()}", **{"from": entry.start_text()},
                   sources=self._src(entry.raw))
            return Verdict("refused", "ABOLISHED", f"{code} est supprimé depuis le {entry.start_text()}.")
        if res.uncertain and (res.previous is None or res.previous.is_abolished or entry.is_abolished):
            s.existence = (res.previous, entry)
            s.deferred.append(f"{concept.ref}#values/{entry.key}")
            s.step("in_force", "in_force", concept.ref, "unknown",
                   f"{code} : en vigueur ou non selon une date que les sources ne donnent pas "
                   f"({_value_text(res.previous)} puis {_value_text(entry)} {entry.start_text()}) — décidé à l'étape value")
            return None
        s.trace.append({"stage": "in_force", "step": "in_force", "rule": concept.ref, "outcome": "pass",
                        "detail": f"{code} est en vigueur le {plan.claim['date']}"})
        s.resolution = res if plan.territory == "metropole" else None   # the value stage reuses it (§ 3.7 b, same track)
        return None

    # -- § 3.3 requirements: the conjunction of the requirements, in three-valued logic
    def _requirement_plan(self, concept: Concept) -> list[tuple]:
        """Per applicable requirement (§ 2.2), what does not depend on the claim, built once per concept: (the item, its
        validity window, its condition as a function, the constant part of its trace step)."""
        found = self._memo_requirements.get(id(concept))
        if found is None:
            from convmed.conditions import compiled

            found = self._memo_requirements[id(concept)] = [
                (req, self._window(req), compiled(req["condition"]),
                 {"stage": "requirements", "step": "requirement", "rule": f"{owner.ref}#{req['id']}", "outcome": "pass",
                  "detail": f"{req['description']} — {self._describe(req['condition'])}", "status": req["status"],
                  "sources": self._src(req)})
                for owner, req in self._declarations(concept, "requirements")]
        return found

    def _stage_requirements(self, s: LineState) -> Verdict | None:
        first_unknown = None
        on, facts, trace = s.plan.on, s.facts, s.trace
        for req, window, condition, template in self._requirement_plan(s.concept):
            in_force = item_validity(window, on)
            if in_force == "out":
                continue
            missing: list[str] = []
            value = self._truth_of(condition, req["condition"], facts, missing)
            step = dict(template)
            if value is None:
                missing = list(dict.fromkeys(missing))
                step["detail"] += f" ; fait(s) manquant(s) : {', '.join(missing)}"
            if in_force == "uncertain" and value is not True:
                step["outcome"] = "unknown"
                step["detail"] += " (date d'effet de la règle non donnée par les sources)"
                s.deferred.append(step["rule"])
                trace.append(step)
                continue
            if value is not True:
                step["outcome"] = "fail" if value is False else "unknown"
            trace.append(step)
            if value is False:   # the first false requirement decides, whatever is unknown before or after it
                r = req["refusal"]
                return Verdict("refused", r["reason"], r["message"], r.get("instead"), step=step)
            if value is None and first_unknown is None:
                first_unknown = (req, missing, step)
        if first_unknown is not None:
            req, missing, step = first_unknown
            return Verdict("refused", "MISSING_FACT",
                           f"La demande ne renseigne pas {', '.join(missing)}, nécessaire(s) à la règle "
                           f"« {req['description']} ».", step=step)
        return None

    def _truth_of(self, function, condition: dict, facts, missing: list):
        """§ 1.2: the truth value of a compiled condition (its missing facts appended to `missing`)."""
        return function(facts, missing)

    # -- § 3.4 base act
    def _base_retained(self, outcome: LineOutcome) -> bool | None:
        return outcome.billable

    def _stage_base(self, s: LineState) -> Verdict | None:
        verdicts = []
        for b in s.line_plan.bindings:
            if b.item is not None:
                validity = self._valid(b.item, s.plan.on)
                if validity == "out":
                    continue
            else:
                validity = "in"
            refusal = b.item["refusal"] if b.item is not None else {
                "reason": "MISSING_BASE_ACT", "message": f"{s.code} s'applique à la ligne modifiée (modifies)."}
            extra = {"status": b.item["status"], "sources": self._src(b.item)} if b.item is not None else {}
            what = self._base_what(b.item)
            target = s.plan.claim["lines"][b.target] if b.target is not None else None
            if target is not None and b.item is not None and b.explicit and not claim_plan.is_candidate(
                    b.item, target["code"], s.plan.lines[b.target].category):
                problem = (f"la ligne {b.target} ({target['code']}) désignée par base_line n'est pas un acte de base "
                           f"de {s.code} ({what})")
                outcome = None
            elif b.target is None:
                problem = (f"aucun acte de base ({what}) sur la demande" if not b.explicit else
                           f"la ligne désignée par {'base_line' if b.item is not None else 'modifies'} n'existe pas")
                outcome = None
            else:
                outcome = self._outcome_of(s, b.target)
                problem = None
            if outcome is not None:
                retained = self._base_retained(outcome)
                if retained is YES:
                    s.step("base", "base", b.rule_id, "pass",
                           f"acte de base {outcome.code} (ligne {outcome.index}) retenu"
                           + ("" if outcome.status == "priced" else f", montant inconnu ({outcome.reason})"), **extra)
                    continue
                if retained is UNDECIDED:
                    s.step("base", "base", b.rule_id, "unknown",
                           f"acte de base {outcome.code} (ligne {outcome.index}) : retenu ou non selon une donnée "
                           f"inconnue ({outcome.reason})", **extra)
                    verdicts.append(Verdict("unknown", "DEPENDENCY_UNKNOWN",
                                            f"{s.code} dépend de l'acte de base {outcome.code} (ligne {outcome.index}), "
                                            f"dont le sort est inconnu : {outcome.message}", billable=UNDECIDED,
                                            step=s.trace[-1]))
                    continue
                problem = f"l'acte de base {outcome.code} (ligne {outcome.index}) est refusé ({outcome.reason})"
            if validity == "uncertain":
                s.deferred.append(b.rule_id)
                s.step("base", "base", b.rule_id, "unknown",
                       f"{problem} (date d'effet de la règle non donnée par les sources)", **extra)
                continue
            s.step("base", "base", b.rule_id, "fail", problem, **extra)
            verdicts.append(Verdict("refused", refusal["reason"], f"{refusal['message']} ({problem}).",
                                    refusal.get("instead"), step=s.trace[-1]))
        return self._first(verdicts)

    @staticmethod
    def _base_what(item: dict | None) -> str:
        if item is None:
            return "ligne modifiée"
        parts = list(item.get("codes", ())) + [f"catégorie {c}" for c in item.get("categories", ())]
        return ", ".join(parts)

    @staticmethod
    def _first(verdicts: list[Verdict]) -> Verdict | None:
        """The stage is a conjunction (SEMANTIQUE § 3.4, § 3.5): a certain refusal first, then a refusal for a
        missing fact, then the first unknown; each in the order of the relations."""
        return (next((v for v in verdicts if v.status == "refused" and v.reason != "MISSING_FACT"), None)
                or next((v for v in verdicts if v.status == "refused"), None)
                or (verdicts[0] if verdicts else None))

    # -- § 3.5 non-cumul
    def _stage_non_cumul(self, s: LineState) -> Verdict | None:
        verdicts = []
        for rel in s.line_plan.relations:
            item = rel.item
            validity = self._valid(item, s.plan.on)
            if validity == "out":
                continue
            other = s.plan.claim["lines"][rel.other]
            extra = {"status": item["status"], "sources": self._src(item)}
            if rel.direction != "both" and self._outcome_of(s, rel.other).billable is NO:
                o = self._outcome_of(s, rel.other)
                s.step("non_cumul", "non_cumul", rel.rule_id, "pass",
                       f"{s.code} céderait devant {o.code} (ligne {o.index}), qui est refusée", **extra)
                continue
            if "unless" in item:
                pair = PairFacts(s.facts, self._make_facts(s.plan, rel.other))
                allowed, missing = self._truth(item["unless"], pair)
                if allowed is True:
                    s.step("non_cumul", "non_cumul", rel.rule_id, "pass",
                           f"cumul avec {other['code']} (ligne {rel.other}) autorisé : {self._describe(item['unless'])}",
                           **extra)
                    continue
                if allowed is None:
                    s.step("non_cumul", "non_cumul", rel.rule_id, "fail",
                           f"cumul avec {other['code']} (ligne {rel.other}) : fait(s) manquant(s) {', '.join(missing)}",
                           **extra)
                    verdicts.append(Verdict("refused", "MISSING_FACT",
                                            f"La demande ne renseigne pas {', '.join(missing)}, nécessaire(s) à la "
                                            f"règle « {item['description']} ».", step=s.trace[-1]))
                    continue
            if rel.direction == "both":
                lost, detail = YES, (f"{s.code} et {other['code']} (ligne {rel.other}) ne peuvent pas figurer sur "
                                     f"la même demande : les deux lignes sont refusées")
            else:
                o = self._outcome_of(s, rel.other)
                lost = o.billable
                detail = (f"{s.code} cède devant {o.code} (ligne {o.index}), "
                          + ("retenue" if lost is YES else "refusée" if lost is NO else
                             f"retenue ou non selon une donnée inconnue ({o.reason})"))
            if lost is NO:
                s.step("non_cumul", "non_cumul", rel.rule_id, "pass", detail, **extra)
                continue
            if lost is UNDECIDED:
                s.step("non_cumul", "non_cumul", rel.rule_id, "unknown", detail, **extra)
                verdicts.append(Verdict("unknown", "DEPENDENCY_UNKNOWN",
                                        f"{s.code} ne se cumule pas avec {other['code']} (ligne {rel.other}), dont le sort "
                                        f"est inconnu.", billable=UNDECIDED, step=s.trace[-1]))
                continue
            if validity == "uncertain":
                s.deferred.append(rel.rule_id)
                s.step("non_cumul", "non_cumul", rel.rule_id, "unknown",
                       detail + " (date d'effet de la règle non donnée par les sources)", **extra)
                continue
            s.step("non_cumul", "non_cumul", rel.rule_id, "fail", detail, **extra)
            r = item["refusal"]
            verdicts.append(Verdict("refused", r["reason"], r["message"], r.get("instead"), step=s.trace[-1]))
        return self._first(verdicts)

    # -- § 3.6 limits
    def _claim_history(self, s: LineState) -> tuple[list[dict], list[dict]]:
        """The lines of the claim evaluated before this one, as history entries of the claim's date: (the
        billable ones, the undecided ones). Refused lines never count."""
        claim = s.plan.claim
        patient = claim.get("patient") or {}

        def entry(o):
            return {"date": claim["date"], "code": o.code, "patient_id": patient.get("id"),
                    "doctor_id": claim["doctor"].get("id"), "stay_id": patient.get("stay_id"),
                    "context": claim.get("context", {})}
        sure = [entry(o) for o in s.done.values() if o.billable is YES]
        maybe = [entry(o) for o in s.done.values() if o.billable is UNDECIDED]
        return sure, maybe

    def _stage_limits(self, s: LineState) -> Verdict | None:
        limits = self._declarations(s.concept, "limits")
        if not limits:
            return None
        claim, on = s.plan.claim, s.plan.on
        sure, maybe = self._claim_history(s)
        history = list(claim.get("history", [])) + sure
        for owner, limit in limits:
            validity = self._valid(limit, on)
            if validity == "out":
                continue
            rule_id = f"{owner.ref}#{limit['id']}"
            if "when" in limit:
                applies, missing = self._truth(limit["when"], s.facts)
                if applies is False:
                    continue
                if applies is None:
                    s.step("limits", "limit", rule_id, "fail",
                           f"fait(s) manquant(s) : {', '.join(missing)} (nécessaire(s) à « {limit['description']} »)",
                           sources=self._src(limit))
                    return Verdict("refused", "MISSING_FACT",
                                   f"La demande ne renseigne pas {', '.join(missing)}, nécessaire(s) à la limite "
                                   f"« {limit['description']} ».")
            # § 3.6: each act is counted (YES), not counted (NO) or counted unless a fact the claim lacks differs
            # (the name of that fact); an undecided earlier line counts "maybe" whatever its match
            counted, missing = [], []
            for h in history:
                m = self._match(limit, h, claim, on, s.facts)
                if m is YES:
                    counted.append(h)
                elif m is not NO:
                    missing.append(m)
            possible = [h for h in maybe if self._match(limit, h, claim, on, s.facts) is not NO]
            ok = len(counted) < limit["max"]
            detail = f"{limit['description']} — {len(counted)} déjà facturé(s), maximum {limit['max']}"
            if ok and len(counted) + len(missing) >= limit["max"]:
                names = ", ".join(dict.fromkeys(missing))
                if validity == "uncertain":
                    s.deferred.append(rule_id)
                    s.step("limits", "limit", rule_id, "unknown",
                           detail + f" ; {len(missing)} autre(s) selon {names}, absent(s) de la demande (date d'effet "
                                    f"de la règle non donnée par les sources)", status=limit["status"],
                           sources=self._src(limit))
                    continue
                s.step("limits", "limit", rule_id, "fail",
                       detail + f" ; {len(missing)} autre(s) à compter ou non selon {names}, absent(s) de la demande",
                       status=limit["status"], sources=self._src(limit))
                return Verdict("refused", "MISSING_FACT",
                               f"La demande ne renseigne pas {names}, nécessaire(s) à la limite "
                               f"« {limit['description']} ».")
            if ok and len(counted) + len(missing) + len(possible) >= limit["max"]:
                s.step("limits", "limit", rule_id, "unknown",
                       detail + f" ; {len(possible)} autre(s) ligne(s) de la demande au sort inconnu",
                       status=limit["status"], sources=self._src(limit))
                return Verdict("unknown", "DEPENDENCY_UNKNOWN",
                               f"{s.code} : la limite « {limit['description']} » dépend de lignes de la demande dont le "
                               f"sort est inconnu.", billable=UNDECIDED)
            if not ok and validity == "uncertain":
                s.deferred.append(rule_id)
                s.step("limits", "limit", rule_id, "unknown",
                       detail + " (date d'effet de la règle non donnée par les sources)", status=limit["status"],
                       sources=self._src(limit))
                continue
            s.step("limits", "limit", rule_id, "pass" if ok else "fail", detail, status=limit["status"],
                   sources=self._src(limit))
            if not ok:
                r = limit["refusal"]
                return Verdict("refused", r["reason"], r["message"], r.get("instead"))
        return None

    def _match(self, limit, h, claim, on, facts):
        """Is act `h` (a history entry, or an earlier line as one) counted by `limit`? YES, NO, or the name of a
        `same` fact the claim lacks while `h` has it (counted or not according to that fact)."""
        if h["code"] not in limit["count_codes"] or not self._same_period(limit, h, claim, on):
            return NO
        return self._same_facts(limit, h, facts)

    @staticmethod
    def _same_period(limit, h, claim, on) -> bool:
        when = date.fromisoformat(h["date"])
        period = limit["period"]
        if when > on:
            return False
        if period == "calendar_year":
            return when.year == on.year
        if period == "calendar_quarter":
            return (when.year, (when.month - 1) // 3) == (on.year, (on.month - 1) // 3)
        if period == "iso_week":
            return when.isocalendar()[:2] == on.isocalendar()[:2]
        if period == "day":
            return when == on
        if period == "rolling_days":
            return (on - when).days < limit["days"]
        if period == "stay":
            stay = (claim.get("patient") or {}).get("stay_id")
            return stay is not None and h.get("stay_id") == stay
        return True  # ever

    @staticmethod
    def _same_facts(limit, h, facts):
        """Does act `h` share the limit's `same` facts with the claim (SEMANTIQUE § 3.6)? A field `h` lacks does
        not tell it apart (shared); without a patient id on the claim every entry is the patient's (the history
        is the patient's own). YES, NO, or the first fact the claim lacks while `h` gives it."""
        missing = None
        for name in limit.get("same", []):
            theirs = history_fact(h, name)
            try:
                mine = facts.get(name)
            except MissingFact:
                if name != "patient.id" and theirs is not None and missing is None:
                    missing = name
                continue
            if theirs is not None and theirs != mine:
                return NO
        return missing if missing is not None else YES

    # -- § 3.7 value
    def _value_resolution(self, s: LineState):
        if s.resolution is not None:
            return s.resolution
        return s.concept.timeline.resolve(s.plan.on, s.plan.territory, s.plan.specialty)

    def _stage_value(self, s: LineState) -> Verdict | None:
        concept, plan = s.concept, s.plan
        code = concept.data["code"]
        if s.existence is not None:
            previous, entry = s.existence
            note = entry.raw["from"].get("note", "") if isinstance(entry.raw["from"], dict) else ""
            s.step("value", "value", f"{concept.ref}#values/{entry.key}", "unknown",
                   f"date d'effet non donnée : {_value_text(previous)} avant, {_value_text(entry)} après ; {note}",
                   **{"from": entry.start_text()}, sources=self._src(entry.raw))
            return Verdict("unknown", "DATE_UNCERTAIN",
                           f"{code} : les sources ne datent pas le passage de « {_value_text(previous)} » à "
                           f"« {_value_text(entry)} » ({entry.start_text()}). {note}".strip(), billable=UNDECIDED)
        rules = [r for r in s.deferred]
        if rules:
            s.step("value", "value", rules[0], "unknown",
                   f"une règle dont la date d'effet n'est pas donnée pourrait refuser la ligne ({', '.join(rules)})")
            return Verdict("unknown", "DATE_UNCERTAIN",
                           f"{code} : une règle dont la date d'effet n'est pas donnée pourrait refuser la ligne "
                           f"({', '.join(rules)}).", billable=UNDECIDED)
        res = self._value_resolution(s)
        entry = res.entry
        if entry is None:
            return self._territory_gap(s)
        if res.uncertain:
            prev = res.previous
            if prev is not None and prev.value is not None and entry.value is not None and prev.value == entry.value:
                s.step("value", "value", f"{concept.ref}#values/{entry.key}", "pass",
                       f"{code} vaut {fmt(entry.value)} avant comme après une date que les sources ne donnent pas "
                       f"({entry.start_text()}) : le montant est certain", value=fmt(entry.value),
                       **{"from": entry.start_text()}, status=entry.raw["status"], sources=self._src(entry.raw))
                s.unit_value = entry.value
                return None
            note = entry.raw["from"].get("note", "")
            s.step("value", "value", f"{concept.ref}#values/{entry.key}", "unknown",
                   f"date d'effet non donnée : {_value_text(prev)} avant, {_value_text(entry)} après ; {note}",
                   **{"from": entry.start_text()}, sources=self._src(entry.raw))
            both_billed = all(e is not None and not e.is_abolished for e in (prev, entry))
            return Verdict("unknown", "DATE_UNCERTAIN",
                           f"{code} : les sources ne datent pas le passage de « {_value_text(prev)} » à "
                           f"« {_value_text(entry)} » ({entry.start_text()}). {note}".strip(),
                           billable=YES if both_billed else UNDECIDED)
        if entry.is_abolished:
            s.step("value", "value", f"{concept.ref}#values/{entry.key}", "fail",
                   f"{code} est supprimé depuis le {entry.start_text()} ({plan.territory})",
                   **{"from": entry.start_text()}, sources=self._src(entry.raw))
            return Verdict("refused", "ABOLISHED", f"{code} est supprimé depuis le {entry.start_text()}.")
        if entry.is_gap:
            gap = entry.raw["gap"]
            filled = self._fill_gap(s, f"{concept.ref}#values/{entry.key}", entry.start_text(), entry.raw,
                                    f"lacune des sources : {gap['note']}")
            if filled is not None:
                s.unit_value, s.filled = filled, True
                return None
            s.step("value", "value", f"{concept.ref}#values/{entry.key}", "unknown",
                   f"lacune : {gap['note']} (voir : {gap['points_to']})", **{"from": entry.start_text()},
                   sources=self._src(entry.raw))
            return Verdict("unknown", "VALUE_GAP",
                           f"{code} : montant non donné par les sources — {gap['note']} (voir : {gap['points_to']}).",
                           billable=YES)
        s.trace.append(self._value_step(concept, entry, res.until))
        s.unit_value = entry.value
        return None

    def _territory_gap(self, s: LineState) -> Verdict | None:
        concept, plan = s.concept, s.plan
        code = concept.data["code"]
        detail = (f"les sources ne donnent aucune valeur de {code} pour le territoire {plan.territory} le {plan.on} "
                  f"(les tarifs indiqués sont ceux de la métropole ; ceux des autres territoires figurent dans une "
                  f"annexe absente des sources)")
        filled = self._fill_gap(s, concept.ref, None, {}, detail)
        if filled is not None:
            s.unit_value, s.filled = filled, True
            return None
        s.step("value", "value", concept.ref, "unknown", detail)
        return Verdict("unknown", "VALUE_GAP", detail[0].upper() + detail[1:] + ".", billable=YES)

    def _value_step(self, concept: Concept, entry: Entry, until: date | None) -> dict:
        key = (id(entry), until)
        found = self._memo_value_steps.get(key)
        if found is None:
            raw = entry.raw
            step = {"stage": "value", "step": "value", "rule": f"{concept.ref}#values/{entry.key}",
                    "outcome": "pass", "from": entry.start_text(), "sources": self._src(raw)}
            if until:
                step["until"] = until.isoformat()
            status = raw["status"]
            step.update(value=fmt(entry.value), status=status,
                        detail=f"{concept.data['code']} vaut {fmt(entry.value)} {concept.data['unit']} "
                               f"à partir du {entry.start_text()} ({_STATUS_FR[status]})")
            if status == "derived":
                step["detail"] += f" ; dérivation : {raw['derivation']['formula']}"
            if "conflict" in raw:
                c = raw["conflict"]
                step["detail"] += f" ; conflit {c['id']} : {c['resolution']}"
            found = self._memo_value_steps[key] = step
        return dict(found)

    # -- § 3.8 amount
    def _stage_amount(self, s: LineState) -> Verdict | None:
        concept, line, code = s.concept, s.line, s.code
        method = concept.data.get("pricing", "fixed")
        unit_value = s.unit_value
        if method in ("per_quantity", "coefficient"):
            field_ = "quantity" if method == "per_quantity" else "coefficient"
            if field_ not in line:
                s.step("amount", "amount", concept.ref, "fail", f"{code} se facture avec {field_}")
                return Verdict("refused", "MISSING_QUANTITY", f"{code} se facture avec une quantité ({field_}).")
        if method in claim_plan.DEPASSEMENT_PRICING and "amount" not in line:
            s.step("amount", "amount", concept.ref, "fail", f"{code} : montant du dépassement absent")
            return Verdict("refused", "MISSING_AMOUNT",
                           f"{code} se facture avec le montant du dépassement demandé (champ amount de la ligne).")
        if unit_value is None:
            return None   # the value is not known yet (a stage order where amount comes first)
        if method in claim_plan.DEPASSEMENT_PRICING:
            verdict = self._depassement(s, method, unit_value)
            if verdict is not None:
                return verdict
            amount = s.amount
        elif method == "percent_of_base":
            verdict = self._percent_of_base(s, unit_value)
            if verdict is not None:
                return verdict
            amount = s.amount
        elif method in ("per_quantity", "coefficient"):
            field_ = "quantity" if method == "per_quantity" else "coefficient"
            factor = parse_decimal(line[field_])
            amount = unit_value * factor
            s.step("amount", "amount", concept.ref, "info", f"{fmt(unit_value)} × {line[field_]} = {amount}")
        else:
            amount = unit_value
        if self.rounding and amount != amount.quantize(parse_decimal(self.rounding["quantum"])):
            rounded = round_to(amount, parse_decimal(self.rounding["quantum"]), self.rounding["mode"])
            s.step("amount", "rounding", self.rounding_id, "info",
                   f"{amount} arrondi à {fmt(rounded)} ({self.rounding['label']})")
            amount = rounded
        s.amount = amount
        return None

    def _round_by(self, applies_to: str, amount: Decimal, code: str):
        rounding = self._roundings.get(applies_to)
        if rounding is None:
            return None, None
        r = rounding.data
        return round_to(amount, parse_decimal(r["quantum"]), r["mode"]), rounding

    def _bound_base(self, s: LineState) -> LineOutcome | None:
        b = next((b for b in s.line_plan.bindings if b.item is not None and b.target is not None
                  and self._valid(b.item, s.plan.on) != "out"), None)
        return s.done.get(b.target) if b is not None else None

    def _depassement(self, s: LineState, method: str, unit_value: Decimal) -> Verdict | None:
        concept, line, code = s.concept, s.line, s.code
        base = self._bound_base(s)
        if base is None:   # the base stage refuses a line without its base act; reached only out of order
            return Verdict("refused", "MISSING_BASE_ACT", f"{code} : aucun acte de base sur la demande.")
        if method == "declared":
            asked = parse_decimal(line["amount"])
            s.step("amount", "amount", concept.ref, "info",
                   f"dépassement de {fmt(asked)} € sur l'acte principal {base.code} (ligne {base.index}) ; montant non "
                   f"plafonné par les sources")
            s.amount = asked
            return None
        if base.status != "priced":
            s.step("amount", "amount", concept.ref, "unknown",
                   f"montant de l'acte de base {base.code} (ligne {base.index}) inconnu : plafond incalculable")
            return Verdict("unknown", "DEPENDENCY_UNKNOWN",
                           f"{code} : le montant de l'acte de base {base.code} n'est pas connu, le plafond ne peut pas "
                           f"être calculé.", billable=YES)
        asked = parse_decimal(line["amount"])
        base_amount = base.amount
        category = s.plan.lines[base.index].category
        binding = next(b for b in s.line_plan.bindings if b.item is not None and b.target == base.index)
        rate = unit_value / Decimal(100)
        clinical = category in binding.item.get("clinical", [])
        if clinical:
            ceiling_raw = base_amount * (1 + rate)
            ceiling, rounding = self._round_by("depassement_cap_clinical", ceiling_raw, code)
            if rounding is None:
                return Verdict("unknown", "VALUE_GAP", f"{code} : aucune règle d'arrondi du plafond.", billable=YES)
            cap = ceiling - base_amount
            detail = (f"plafond (acte clinique) : {fmt(base_amount)} × (1 + {fmt(unit_value)} %) = "
                      f"{ceiling_raw.normalize():f}, arrondi à {fmt(ceiling)} ({rounding.data['label']}, {rounding.id}) ; "
                      f"dépassement maximal {fmt(ceiling)} − {fmt(base_amount)} = {fmt(cap)} €")
        else:
            cap_raw = base_amount * rate
            cap, rounding = self._round_by("depassement_cap_technical", cap_raw, code)
            if rounding is None:
                return Verdict("unknown", "VALUE_GAP", f"{code} : aucune règle d'arrondi du plafond.", billable=YES)
            detail = (f"plafond (acte technique) : {fmt(unit_value)} % de {fmt(base_amount)} = {cap_raw.normalize():f}, "
                      f"soit {fmt(cap)} € ({rounding.data['label']}, {rounding.id})")
        detail += f" ; demandé {fmt(asked)} € sur {base.code} (ligne {base.index})"
        ok = asked <= cap
        s.step("amount", "amount", concept.ref, "pass" if ok else "fail", detail, value=fmt(cap))
        if not ok:
            return Verdict("refused", "DEPASSEMENT_CAP_EXCEEDED",
                           f"{code} : le dépassement demandé ({fmt(asked)} €) excède le plafond de {fmt(cap)} € "
                           f"({fmt(unit_value)} % de {base.code} à {fmt(base_amount)} €"
                           f"{', total arrondi à l’euro supérieur' if clinical else ''}).")
        s.amount = asked
        return None

    def _percent_of_base(self, s: LineState, rate: Decimal) -> Verdict | None:
        """A modifier: rate % of the base tariff (hors modificateurs) of the line it `modifies`, else of the
        line's own `base_amount`."""
        concept, line, code = s.concept, s.line, s.code
        if "modifies" in line:
            target = s.done.get(line["modifies"])
            if target is None:   # the base stage refuses it; reached only out of order
                return Verdict("refused", "MISSING_BASE_ACT", f"{code} : la ligne modifiée n'existe pas.")
            if target.status != "priced":
                s.step("amount", "amount", concept.ref, "unknown",
                       f"tarif de l'acte modifié {target.code} (ligne {target.index}) inconnu")
                return Verdict("unknown", "DEPENDENCY_UNKNOWN",
                               f"{code} : le tarif de l'acte modifié {target.code} n'est pas connu.", billable=YES)
            base, origin = target.unit_value, f"{target.code} (ligne {target.index})"
        elif "base_amount" in line:
            base, origin = parse_decimal(line["base_amount"]), "tarif de base fourni par la ligne (table externe)"
        else:
            s.step("amount", "amount", concept.ref, "fail", f"{code} : ni modifies ni base_amount")
            return Verdict("refused", "MISSING_BASE_ACT",
                           f"{code} est un pourcentage du tarif de l'acte modifié : la ligne doit indiquer `modifies` "
                           f"(l'acte CCAM de la demande) ou `base_amount`.")
        amount = base * rate / Decimal(100)
        if amount == amount.quantize(Decimal("0.01")):
            amount = amount.quantize(Decimal("0.01"))
        s.step("amount", "amount", concept.ref, "info", f"{fmt(rate)} % de {fmt(base)} ({origin}) = {amount.normalize():f}",
               value=fmt(base))
        s.amount = amount
        return None

    # ------------------------------------------------------------ external values (§ 3.1, § 3.7)
    def _overlay_row(self, s: LineState):
        for overlay in self.overlays:
            row = overlay.find(s.code, s.plan.on, s.plan.territory)
            if row is not None:
                return overlay, row
        return None

    def _external_base(self, s: LineState) -> Decimal | None:
        """§ 3.1: the base tariff of a CCAM code the spec does not define, from an overlay asked for, else from the
        line's `base_amount`; None when neither gives one (the code is then UNKNOWN_CODE)."""
        found = self._overlay_row(s)
        if found is not None:
            from convmed.overlay import overlay_step

            overlay, row = found
            s.overlays.append(overlay.name)
            s.trace.append({"stage": "lookup", **overlay_step(overlay, row, s.code, "tarif de base")})
            return row.value
        return self._line_base_amount(s, "lookup")

    def _line_base_amount(self, s: LineState, stage: str) -> Decimal | None:
        line = s.line
        if "base_amount" not in line:
            return None
        s.step(stage, "overlay", "line.base_amount", "info",
               f"{s.code} : tarif de base {line['base_amount']} fourni par la demande (table externe, par exemple la "
               f"CCAM : les sources conventionnelles ne donnent pas ce tarif)", status="external",
               value=line["base_amount"])
        return parse_decimal(line["base_amount"])

    def _fill_gap(self, s: LineState, rule: str, start: str | None, raw: dict, detail: str) -> Decimal | None:
        """A gap of the spec (a dated gap, or no value for the territory) filled by an overlay asked for (never a
        seed value replaced), or, for an act priced from an external base tariff, by the line's base_amount."""
        found = self._overlay_row(s)
        by_line = s.concept.data.get("pricing") == "external_base" and "base_amount" in s.line
        if found is None and not by_line:
            return None
        s.step("value", "value", rule, "info", f"{detail} — comblée par une valeur externe ci-dessous",
               **{"from": start}, sources=self._src(raw) if raw else None)
        if found is not None:
            from convmed.overlay import overlay_step

            overlay, row = found
            s.overlays.append(overlay.name)
            s.trace.append({"stage": "value", **overlay_step(overlay, row, s.code, "valeur")})
            return row.value
        return self._line_base_amount(s, "value")

    # ------------------------------------------------------------ § 4.1 associations (claim stage)
    def _associations(self, plan: ClaimPlan, outcomes: list[LineOutcome]) -> list[LineOutcome]:
        """Association rules (spec kind `association`): the priced external-base acts of the claim ranked by base
        tariff, each rank paid at its rate; acts beyond the last rate refused. Each change is a step of the line's
        trace (stage `association`)."""
        priced = [o.index for o in outcomes if o.status == "priced" and o.external_base is not None]
        if not priced:
            return outcomes
        outcomes = list(outcomes)
        for concept in self._association_rules:
            rule = concept.data
            validity = self._valid(rule, plan.on)
            if validity == "out":
                continue
            applies, missing = self._truth(rule["when"], self._make_facts(plan, priced[0]))
            if applies is False:
                continue
            if applies is None:   # the rule may apply: its lines are not priced on a guess
                for i in priced:
                    o = outcomes[i]
                    step = {"stage": "association", "step": "association", "rule": concept.ref, "outcome": "fail",
                            "status": rule["status"], "sources": self._src(rule),
                            "detail": f"{rule['label']} : fait(s) manquant(s) {', '.join(missing)}"}
                    outcomes[i] = replace(o, status="refused", reason="MISSING_FACT", billable=NO, amount=None,
                                          unit_value=None, trace=o.trace + (step,),
                                          message=f"La demande ne renseigne pas {', '.join(missing)}, nécessaire(s) "
                                                  f"à la règle « {rule['label']} ».")
                priced = []
                break
            ranked = sorted(priced, key=lambda i: (-outcomes[i].external_base, i))
            rates = [parse_decimal(r) for r in rule["rates"]]
            for rank, i in enumerate(ranked):
                o = outcomes[i]
                step = {"stage": "association", "step": "association", "rule": concept.ref, "status": rule["status"],
                        "sources": self._src(rule)}
                if rank >= len(rates):
                    step.update(outcome="fail", detail=f"{rule['label']} : acte de rang {rank + 1}, au-delà de "
                                                       f"{len(rates)} actes associés")
                    new = ("refused", rule["refusal"]["reason"], rule["refusal"]["message"], NO)
                    amount = None
                else:
                    amount = o.external_base * rates[rank] / Decimal(100)
                    if self.rounding:
                        amount = round_to(amount, parse_decimal(self.rounding["quantum"]), self.rounding["mode"])
                    step.update(outcome="pass", value=fmt(rates[rank]),
                                detail=f"{rule['label']} : acte de rang {rank + 1} (tarif hors modificateurs "
                                       f"{fmt(o.external_base)}) payé à {fmt(rates[rank])} % = {fmt(amount)}")
                    new = None
                if validity == "uncertain" and amount == o.amount:   # both possibilities pay the same: certain
                    step["detail"] += " : le même montant que sans la règle, dont la date d'effet n'est pas donnée"
                elif validity == "uncertain":
                    step["outcome"] = "unknown"
                    step["detail"] += " (date d'effet de la règle non donnée par les sources)"
                    new = ("unknown", "DATE_UNCERTAIN",
                           f"{o.code} : la règle {concept.id}, dont la date d'effet n'est pas donnée, paierait cet acte "
                           f"{'au rang ' + str(rank + 1) if amount is not None else '0 (refusé)'} au lieu de "
                           f"{fmt(o.amount)}.", UNDECIDED)
                trace = o.trace + (step,)
                if new is None:
                    outcomes[i] = replace(o, amount=amount, trace=trace)
                else:
                    status, reason, message, billable = new
                    outcomes[i] = replace(o, status=status, reason=reason, message=message, billable=billable,
                                          amount=None, unit_value=None, trace=trace)
        return outcomes


def price_claim(claim: dict, spec: Spec | None = None, overlays: list | None = None) -> dict:
    """`overlays`: convmed.overlay.Overlay objects (or names / paths), used only when given."""
    from convmed.model import load_spec

    spec = spec or load_spec()
    if overlays:
        from convmed.overlay import Overlay, load_overlay

        overlays = [o if isinstance(o, Overlay) else load_overlay(str(o), spec.root) for o in overlays]
    return Pricer(spec, overlays).price(claim)
