"""`convmed conformance lint`: the suite checks itself (JSON-Schema-Test-Suite style).

1. every vector file is valid against schemas/vector-file.schema.json, family = file name;
2. case ids are unique across the suite version;
3. each input is valid against its input schema (claim.schema.json, forfait-input.schema.json);
4. every rule id a case names exists in spec/, every seed reference is a registered seed
   and its quote occurs in the seed (whitespace-normalised);
5. every expectation is reproduced by the reference oracle;
6. coverage: each requirement and limit of the spec (acts, rules, forfait schemes) is seen
   passing (an accepted vector) and failing (a refused vector) in the oracle's traces of the
   vectors; each act priced and refused at least once; each forfait parameter read with a
   value at least once — what is missing is listed, apart from the sides the spec itself makes
   impossible (`untestable`: no value in the sources, an effective date never certain, nothing that
   can refuse, a parameter the spec marks `not_computed`), listed as known limits with their reason;
7. temporal coverage: for every dated concept (acts, forfait parameters), cases are generated
   at each effective date and the day before (acts: also priced by the oracle); the timeline (`convmed.timeline`) must have no overlap, each date must
   resolve to the entry that starts that day and the day before to another one.
Problems 1-5 and 7 fail the lint (exit 1); coverage is listed (exit 1 with --require-coverage, which the
known limits do not trip).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from convmed.conformance.compare import differences
from convmed.conformance.oracles import OracleUnavailable, evaluate
from convmed.conformance.vectors import Case, Suite, load_suite
from convmed.docs.french import not_computed_fr
from convmed.errors import ConvmedError, Located
from convmed.model import RULE_SECTIONS
from convmed.schemas import all_schemas, validate

INPUT_SCHEMAS = {"claim": "claim", "forfait": "forfait-input"}
_MIN, _MAX = date.min, date.max
_MISSING_FR = {"accepted": "accepté", "refused": "refusé", "used": "utilisé"}
# why the spec itself leaves no vector possible for one side of a rule (reported apart, as known limits)
UNTESTABLE = {
    "no_value": "aucune valeur dans les sources (toutes les valeurs datées sont des lacunes)",
    "no_certain_start": "date d'effet jamais certaine (in_force_by absent) : l'oracle répond « inconnu »",
    "no_condition": "aucune condition, aucune date de début, aucune suppression : rien ne peut la refuser",
    "not_computed": "paramètre qu'aucune formule ne calcule, par choix du spec (not_computed : raison et note dans son fichier)",
    "mutual": "non-cumul « yields: both » sans exception : dès que les deux codes figurent ensemble, les deux lignes sont refusées",
    "never_together": "non-cumul entre codes que des spécialités incompatibles réservent à des médecins différents : "
                      "la ligne qui céderait et celle devant laquelle elle céderait ne sont jamais retenues ensemble",
}


@dataclass
class LintReport:
    suite: Suite | None = None
    problems: list[Located] = field(default_factory=list)
    warnings: list[Located] = field(default_factory=list)
    reproduced: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    uncovered: list[dict] = field(default_factory=list)
    untestable: list[dict] = field(default_factory=list)
    temporal_cases: int = 0
    dates_without_vector: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"suite": self.suite.meta() if self.suite else None,
                "cases": len(self.suite.cases) if self.suite else 0,
                "files": len(self.suite.files) if self.suite else 0,
                "problems": [p.as_dict() for p in self.problems],
                "warnings": [w.as_dict() for w in self.warnings],
                "reproduced": self.reproduced,
                "skipped": [{"id": i, "reason": r} for i, r in self.skipped],
                "uncovered": self.uncovered, "untestable": self.untestable,
                "temporal_cases": self.temporal_cases,
                "dates_without_vector": self.dates_without_vector}

    def coverage_lines(self) -> list[str]:
        out = []
        if self.uncovered:
            out.append(f"Couverture : {len(self.uncovered)} règle(s) sans vecteur accepté et refusé :")
            for u in self.uncovered:
                out.append(f"  {u['rule']} — manque : {', '.join(_MISSING_FR.get(m, m) for m in u['missing'])}")
        if self.untestable:
            out.append(f"Limites connues : {len(self.untestable)} côté(s) de règle qu'aucun vecteur ne peut couvrir "
                       f"tant que le spec est ainsi :")
            for u in self.untestable:
                out.append(f"  {u['rule']} — {_MISSING_FR.get(u['missing'], u['missing'])} impossible : "
                           f"{UNTESTABLE[u['reason']]}" + (
                               f" — {not_computed_fr(u['not_computed'].get('reason'))}"
                               if isinstance(u.get("not_computed"), dict) else ""))
        if self.dates_without_vector:
            out.append(f"Dates d'effet sans vecteur ce jour-là et la veille : {len(self.dates_without_vector)} "
                       f"(détail : --format json)")
        return out

    def summary(self) -> str:
        n = len(self.suite.cases) if self.suite else 0
        files = len(self.suite.files) if self.suite else 0
        return (f"{files} fichier(s), {n} cas ; {self.reproduced} attendus reproduits par l'oracle, "
                f"{len(self.skipped)} non vérifiés (oracle indisponible) ; {self.temporal_cases} cas temporels générés ; "
                f"{len(self.uncovered)} règle(s) incomplètement couvertes "
                f"(et {len(self.untestable)} limite(s) connue(s) du spec) ; "
                f"{len(self.problems)} erreur(s), {len(self.warnings)} avertissement(s)")


def _where(case: Case, pointer: str = "") -> dict:
    return {"file": case.file, "line": case.line, "pointer": f"/cases/{case.index}{pointer}"}


def lint_suite(root: Path | None = None, spec=None) -> LintReport:
    from convmed.model import load_spec

    suite, problems = load_suite(root, strict=False)
    report = LintReport(suite, list(problems))
    spec = spec or load_spec()
    if suite.spec_version != spec.version:
        report.warnings.append(Located(f"suite written for spec {suite.spec_version}, spec is {spec.version}",
                                       file=str(suite.root / "suite.json"), pointer="/spec_version", code="version"))
    outputs: dict[str, dict] = {}
    for case in suite.cases:
        _check_input(case, report)
        _check_rules(case, spec, report)
        _check_seeds(case, spec, report)
        output = _reproduce(case, report)
        if output is not None:
            outputs[case.id] = output
            _check_declared_rules(case, output, report)
    _coverage(suite, spec, outputs, report)
    _temporal(spec, suite, report)
    return report


def _check_input(case: Case, report: LintReport) -> None:
    name = INPUT_SCHEMAS.get(case.kind)
    known = {sid.rsplit("/", 1)[-1] for sid in all_schemas()}
    if name is None or f"{name}.schema.json" not in known:
        report.warnings.append(Located(f"no input schema for kind {case.kind!r}: input not validated",
                                       code="input-schema", **_where(case, "/input")))
        return
    for p in validate(case.input, name):
        report.problems.append(Located(f"input invalid against {name}.schema.json: {p.message}", code="input",
                                       file=case.file, line=case.line,
                                       pointer=f"/cases/{case.index}/input{p.pointer or ''}"))
    if case.kind == "claim":
        dates = [("/date", case.input.get("date")), ("/patient/birth_date", (case.input.get("patient") or {}).get("birth_date"))]
        dates += [(f"/history/{i}/date", h.get("date")) for i, h in enumerate(case.input.get("history", []))]
        for pointer, value in dates:
            if isinstance(value, str):
                try:
                    date.fromisoformat(value)
                except ValueError:
                    report.problems.append(Located(f"impossible date {value!r}", code="date",
                                                   **_where(case, "/input" + pointer)))


def _rule_exists(rule: str, spec) -> str | None:
    return spec.citation_problem(rule)   # spec/SEMANTIQUE.md § 7.1


def _check_rules(case: Case, spec, report: LintReport) -> None:
    for i, rule in enumerate(case.rules):
        problem = _rule_exists(rule, spec)
        if problem:
            report.problems.append(Located(problem, code="rule", **_where(case, f"/rules/{i}")))


def deciding_rules(output: dict) -> list[str]:
    """The rule ids that decide each line of a claim result, in line order: the dated value of a
    priced line, the decisive step of a refused or unknown line (spec/SEMANTIQUE.md § 3: the first stage
    that does not pass; a lookup failure names no rule of the spec). A vector must list them in its
    `rules`, so that selecting vectors by rule (`--rule`, coverage, a vendor reading a failure) finds every
    vector whose outcome depends on it."""
    wanted = {"priced": {("value", "pass"), ("value", "info")}}
    found: list[str] = []
    for line in output.get("lines", []) if isinstance(output, dict) else []:
        status = line.get("status")
        for step in line.get("trace", []):
            outcome = step.get("outcome")
            if status == "priced":
                decides = (step.get("step"), outcome) in wanted["priced"]
            else:
                decides = step.get("decisive") is True and step.get("stage") != "lookup"
            if decides and isinstance(step.get("rule"), str) and step["rule"] not in found:
                found.append(step["rule"])
    return found


def _check_declared_rules(case: Case, output: dict, report: LintReport) -> None:
    if case.kind != "claim":
        return
    missing = [r for r in deciding_rules(output) if r not in case.rules]
    if missing:
        report.problems.append(Located(
            "rules decide this case but are not listed in its rules: " + ", ".join(missing), code="rules-incomplete",
            **_where(case, "/rules")))


def _check_seeds(case: Case, spec, report: LintReport) -> None:
    from convmed.paths import seeds_dir
    from convmed.quotes import quote_in_seed

    registered = {s["file"] for s in spec.meta.get("seeds", [])}
    folder = seeds_dir()
    for i, s in enumerate(case.seeds):
        if s["seed"] not in registered:
            report.problems.append(Located(f"seed {s['seed']!r} is not registered in spec/meta.yaml", code="seed",
                                           **_where(case, f"/seeds/{i}/seed")))
        elif folder is not None and (folder / s["seed"]).is_file():
            if not quote_in_seed(s["quote"], folder / s["seed"]):
                report.problems.append(Located(f"quote not found in {s['seed']}: {s['quote'][:80]!r}", code="quote",
                                               **_where(case, f"/seeds/{i}/quote")))


def _reproduce(case: Case, report: LintReport) -> dict | None:
    try:
        output = evaluate(case.kind, case.input)
    except OracleUnavailable as exc:
        report.skipped.append((case.id, str(exc)))
        report.warnings.append(Located(f"not checked: {exc}", code="oracle-unavailable", **_where(case)))
        return None
    except ConvmedError as exc:
        report.problems.append(Located(f"the oracle refuses the input: {exc}", code="oracle", **_where(case, "/input")))
        return None
    except Exception as exc:  # noqa: BLE001 - an oracle crash is reported on the case
        report.problems.append(Located(f"the oracle crashes: {type(exc).__name__}: {exc}", code="oracle", **_where(case)))
        return None
    diffs = differences(case.expected, output)
    if diffs:
        for d in diffs:
            report.problems.append(Located(f"expectation not reproduced by the oracle: {d.render()}", code="expected",
                                           **_where(case, "/expected" + d.pointer)))
    else:
        report.reproduced += 1
    return output


def _coverage(suite: Suite, spec, outputs: dict[str, dict], report: LintReport) -> None:
    seen: dict[str, set[str]] = {}
    for out in outputs.values():
        for step in out.get("trace", []) if isinstance(out, dict) and isinstance(out.get("trace"), list) else []:
            # forfaits: scheme requirements (result true / false) and the parameters read with a value
            if not isinstance(step, dict) or not isinstance(step.get("id"), str):
                continue
            if step.get("step") == "requirement" and isinstance(step.get("result"), bool):
                seen.setdefault(step["id"], set()).add("accepted" if step["result"] else "refused")
            elif step.get("step") == "parameter" and "value" in step:
                seen.setdefault(step["id"], set()).add("used")
        for line in out.get("lines", []) if isinstance(out, dict) else []:
            concept = line.get("concept")
            if concept:
                if concept in spec.concepts:   # a result line names its concept's file; coverage counts citations
                    concept = spec.concepts[concept].ref
                seen.setdefault(concept, set()).add("accepted" if line.get("status") == "priced" else
                                                    "refused" if line.get("status") == "refused" else "unknown")
            for step in line.get("trace", []):
                if step.get("step") in ("requirement", "limit", "base", "non_cumul"):
                    outcome = {"pass": "accepted", "fail": "refused"}.get(step.get("outcome"))
                    if outcome:
                        seen.setdefault(step["rule"], set()).add(outcome)
    universe: list[str] = []
    for concept in sorted(spec.concepts.values(), key=lambda c: c.id):
        if concept.kind == "act":
            universe.append(concept.ref)
        if concept.kind in ("act", "rule", "scheme"):
            universe += [f"{concept.ref}#{item['id']}" for key in RULE_SECTIONS
                         for item in concept.data.get(key, []) if "id" in item]
    params = sorted(spec.of_kind("parameter"), key=lambda c: c.id)
    for param in params:
        if "not_computed" in param.data and "used" in seen.get(param.id, set()):
            # the spec says no formula computes with it, and a vector's trace shows one reading it
            report.problems.append(Located(
                f"{param.id} est marqué not_computed ({param.data['not_computed'].get('reason')}) mais une formule "
                f"le lit (étape parameter d'un vecteur) : retirer not_computed ou la lecture",
                file=str(param.path), pointer="/not_computed", code="not-computed-read"))
    for rule in universe + [c.id for c in params]:
        sides = ("used",) if spec.cited(rule).kind == "parameter" else ("accepted", "refused")
        missing = []
        for side in sides:
            if side in seen.get(rule, set()):
                continue
            reason = untestable_reason(spec, rule, side)
            if reason:
                report.untestable.append({"rule": rule, "missing": side, "reason": reason})
                if reason == "not_computed":
                    report.untestable[-1]["not_computed"] = spec.cited(rule).data["not_computed"]
            else:
                missing.append(side)
        if missing:
            report.uncovered.append({"rule": rule, "missing": missing})


def untestable_reason(spec, rule: str, side: str) -> str | None:
    """Why the spec itself leaves no vector possible for `side` ("accepted", "refused", "used") of `rule`
    (an act, a concept's requirement or limit `id#item`, a parameter); None when a vector can be written.
    Conservative: only the cases the oracle's own semantics settle (see UNTESTABLE)."""
    _, _, item_id = rule.partition("#")
    concept = spec.cited(rule)
    if concept is None:
        return None
    entries = concept.timeline.entries
    if concept.kind == "parameter":
        if entries and all(e.value is None and e.is_gap for e in entries):
            return "no_value"
        # the spec says on purpose that no formula computes with it (schemas/spec/parameter.schema.json)
        return "not_computed" if isinstance(concept.data.get("not_computed"), dict) else None
    if item_id:
        item = next((i for key in RULE_SECTIONS for i in concept.data.get(key, [])
                     if i.get("id") == item_id), None)
        if side == "refused" and item is not None and _never_certain(item):
            return "no_certain_start"   # Pricer._valid: "uncertain" for ever, a failure is "unknown"
        if item is not None and item in concept.data.get("non_cumul", []):
            if side == "accepted" and item.get("yields") == "both" and "unless" not in item:
                return "mutual"
            if side == "refused" and _never_together(spec, concept, item):
                return "never_together"
        return None
    if concept.kind != "act":
        return None
    if side == "accepted":
        if concept.data.get("pricing", "fixed") == "external_base":
            return None                 # a gap is filled by the line's base_amount
        valued = [e for e in entries if e.value is not None]
        if not valued:
            return "no_value"           # every method prices from the act's own value
        if all(e.hi == _MAX for e in valued):
            return "no_certain_start"   # an uncertain start without in_force_by (timeline.parse_entry)
        return None
    if side == "refused":
        if entries and min(e.lo for e in entries) > _MIN:
            return None                 # refused NOT_IN_FORCE the day before its first value
        if any(e.is_abolished and not e.uncertain for e in entries):
            return None                 # refused ABOLISHED after its suppression
        owners = [concept] + list(spec.rules_by_code.get(concept.data.get("code"), []))
        items = [i for o in owners for key in RULE_SECTIONS for i in o.data.get(key, [])]
        if any(not _never_certain(i) for i in items):
            return None
        if concept.data.get("pricing", "fixed") not in ("fixed", "external_base") and \
                any(e.value is not None and e.hi != _MAX for e in entries):
            return None                 # a certain value, then refused without its quantity or base act
        return "no_certain_start" if items else "no_condition"
    return None


def _allowed_specialties(spec, concept) -> set[str] | None:
    """The specialties an act's undated, unconditional requirements on doctor.specialty alone admit (None: any)."""
    from convmed.claim_plan import declarations

    allowed = None
    everyone = set(spec.vocabulary("specialties"))
    for _, req in declarations(spec, concept, "requirements"):
        cond = req["condition"]
        if "from" in req or "until" in req or cond.get("fact") != "doctor.specialty":
            continue
        from convmed.operators import of

        op, operand = of(cond)
        if op.presence:
            continue
        these = {sp for sp in everyone if op.test(sp, operand)}   # the operator's own test (convmed.operators)
        allowed = these if allowed is None else allowed & these
    return allowed


def _never_together(spec, concept, item) -> bool:
    """A non-cumul whose losing and winning lines can never both pass their requirements: the specialties the
    two sides admit are disjoint (conservative: only undated requirements on the specialty alone are read)."""
    own = [concept.data["code"]] if concept.kind == "act" else list(concept.data.get("applies_to", []))
    pairs = [(a, b) for a in own for b in item["codes"]]
    for a, b in pairs:
        ca, cb = spec.acts_by_code.get(a), spec.acts_by_code.get(b)
        if ca is None or cb is None:
            return False
        sa, sb = _allowed_specialties(spec, ca), _allowed_specialties(spec, cb)
        if sa is None or sb is None or sa & sb:
            return False
    return True


def _never_certain(item: dict) -> bool:
    """A requirement or limit whose start never becomes certain: its `from` read as Pricer._valid reads it
    (timeline.parse_entry), with no date by which it is in force."""
    from convmed.timeline import parse_entry

    return item.get("from") is not None and parse_entry(0, {"from": item["from"], "gap": {}}).hi == _MAX


def _territories_and_specialties(concept) -> tuple[set, set]:
    territories, specialties = {"metropole"}, {None}
    for v in concept.data.get("values", []):
        territories.update(v.get("territories") or [])
        specialties.update(v.get("specialties") or [])
    return territories, specialties


def _temporal(spec, suite: Suite, report: LintReport) -> None:
    from convmed.timeline import overlaps

    vector_days = {(line["code"], case.input.get("date")) for case in suite.cases if case.kind == "claim"
                   for line in case.input.get("lines", [])}
    dated = [c for c in spec.concepts.values()
             if isinstance(c.data.get("values"), list) and c.data["values"]
             and all(isinstance(v, dict) and "from" in v for v in c.data["values"])]
    for concept in sorted(dated, key=lambda c: c.id):
        code = concept.data.get("code") or concept.id
        territories, specialties = _territories_and_specialties(concept)
        where = {"file": str(concept.path), "code": "temporal"}
        for territory in sorted(territories):
            for specialty in sorted(specialties, key=lambda s: s or ""):
                try:
                    track = concept.timeline.track(territory, specialty)
                except Exception as exc:  # noqa: BLE001 - malformed dates are spec check's business
                    report.problems.append(Located(f"{code}: timeline unreadable: {exc}", **where))
                    break
                label = f"{code} ({territory}{', ' + specialty if specialty else ''})"
                starts: dict[tuple, int] = {}
                for e in concept.timeline.entries:   # track() keeps one entry per start: find the others
                    if not e.applies_to(territory, specialty):
                        continue
                    key = (e.lo, e.hi, e.territories, e.specialties)
                    if key in starts:
                        report.problems.append(Located(
                            f"{label}: values/{starts[key]} and values/{e.index} start on the same date "
                            f"({e.start_text()}): overlapping values", line=concept.lines.line_for(f"/values/{e.index}"),
                            pointer=f"/values/{e.index}", **where))
                    starts.setdefault(key, e.index)
                for a, b, why in overlaps(track):
                    report.problems.append(Located(f"{label}: values/{a.index} and values/{b.index} {why}",
                                                   line=concept.lines.line_for(f"/values/{b.index}"),
                                                   pointer=f"/values/{b.index}", **where))
                for pos, entry in enumerate(track):
                    _temporal_entry(concept, label, territory, specialty, track, pos, entry, report, where)
        if concept.kind != "act":
            continue
        for d in concept.timeline.change_dates():
            before = d - timedelta(days=1)
            if (code, d.isoformat()) not in vector_days or (code, before.isoformat()) not in vector_days:
                report.dates_without_vector.append({"code": code, "date": d.isoformat(),
                                                    "on_day": (code, d.isoformat()) in vector_days,
                                                    "day_before": (code, before.isoformat()) in vector_days})


def _temporal_entry(concept, label, territory, specialty, track, pos, entry, report, where) -> None:
    """At the day the entry certainly applies it must be chosen; the day before its earliest start, not."""
    checks = []
    if entry.hi != _MAX:
        checks.append((entry.hi, True))
    if entry.lo != _MIN:
        checks.append((entry.lo - timedelta(days=1), False))
    for day, should_be_it in checks:
        report.temporal_cases += 1
        resolution = concept.timeline.resolve(day, territory, specialty)
        chosen = resolution.entry
        line = concept.lines.line_for(f"/values/{entry.index}")
        # the next entry's uncertain window may open the same day: then "this entry or the next" is right
        applies = (chosen is entry and not resolution.uncertain) or (resolution.uncertain and resolution.previous is entry)
        if should_be_it and not applies:
            got = "nothing" if chosen is None else f"values/{chosen.index}" + (" (uncertain)" if resolution.uncertain else "")
            report.problems.append(Located(f"{label}: on {day} values/{entry.index} should apply, timeline gives {got}",
                                           line=line, pointer=f"/values/{entry.index}", **where))
        if not should_be_it and chosen is entry and not resolution.uncertain:
            report.problems.append(Located(f"{label}: on {day}, the day before values/{entry.index} starts, "
                                           f"the timeline already gives it", line=line,
                                           pointer=f"/values/{entry.index}", **where))
        _temporal_oracle(concept, label, territory, specialty, day, entry, should_be_it, report, where, line)


def _temporal_oracle(concept, label, territory, specialty, day, entry, should_be_it, report, where, line) -> None:
    """The generated claim, priced by the oracle: if it reaches a value step, it must cite the right entry."""
    if concept.kind != "act":
        return
    claim = {"date": day.isoformat(), "territory": territory,
             "doctor": {"specialty": specialty or "medecine_generale", "sector": "S1"},
             "lines": [{"code": concept.data["code"]}]}
    try:
        out = evaluate("claim", claim)
    except OracleUnavailable:
        return
    except Exception as exc:  # noqa: BLE001
        report.problems.append(Located(f"{label}: the oracle crashes on the generated claim of {day}: "
                                       f"{type(exc).__name__}: {exc}", line=line, **where))
        return
    wanted = f"{concept.ref}#values/{entry.key}"
    for step in out["lines"][0].get("trace", []):
        if step.get("step") == "value" and step.get("outcome") == "pass":
            if should_be_it and step["rule"] != wanted:
                report.problems.append(Located(f"{label}: on {day} the oracle prices with {step['rule']}, "
                                               f"expected {wanted}", line=line, **where))
            if not should_be_it and step["rule"] == wanted:
                report.problems.append(Located(f"{label}: on {day} (day before) the oracle already prices with "
                                               f"{wanted}", line=line, **where))
