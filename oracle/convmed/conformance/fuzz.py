"""Differential fuzzing: an implementation against the reference oracle, with Hypothesis.

Claims are drawn from strategies derived from the spec and the claim schema:
- codes: the spec's real codes (all, or `--codes`), one to three lines;
- dates: every date on which a value or a dated requirement of those codes starts or ends,
  the day before and after, and any day 2016-2030;
- facts: every fact a condition of those codes reads (vocabulary `claim_pointer`), with the
  condition's own operands (specialties, sectors, places...), booleans, and integers around
  each bound (`lt: 6` → 5, 6, 7); ages as `age_years` or as a birth date on, the day before
  and the day after a birthday;
- history: earlier acts of the codes counted by the limits, dated around each limit's period
  (same day, period − 1, period, period + 1 days before);
- lines that depend on each other (spec/SEMANTIQUE.md § 2): the codes' base acts and the codes of their
  non-cumuls join the draw; a dépassement gets an `amount` around its cap, sometimes a `base_line`; a
  modifier a `modifies` or a `base_amount`; an act priced from an external base a `base_amount`;
- the territory (métropole or a DROM) and the time (around every hour a condition compares);
- every generated claim is valid against schemas/claim.schema.json.

A disagreement compares the oracle's per-line code / status / amount / reason and total
with the implementation's answer. Hypothesis shrinks it to a minimal claim; distinct
faults (code and field of the first difference) are searched in turn within the example
budget, and written as a ready-to-commit vector file (expected = the oracle, rules and
seed references from the oracle's trace) — review it against the seeds before committing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from convmed.conformance.compare import differences
from convmed.conformance.oracles import evaluate
from convmed.errors import ConvmedError
from convmed.model import RULE_SECTIONS
from convmed.operators import REGISTRY, of

DATE_MIN, DATE_MAX = date(2016, 1, 1), date(2030, 12, 31)
_SPECIAL_FACTS = {"patient.age_years", "patient.age_months", "doctor.optam", "line.tarif_opposable",
                  "other.line.tarif_opposable",
                  "doctor.specialty", "doctor.sector", "doctor.option"}


# ---------------------------------------------------------------------- spec analysis
def _leaves(cond):
    if not isinstance(cond, dict):
        return
    for key in ("all", "any"):
        for c in cond.get(key, []):
            yield from _leaves(c)
    if "not" in cond:
        yield from _leaves(cond["not"])
    if "fact" in cond:
        yield cond


@dataclass
class Domain:
    codes: list[str]
    dates: list[date]
    specialties: list[str]
    all_specialties: list[str]
    ages: list[int]
    facts: dict[str, dict] = field(default_factory=dict)   # claim pointer -> {"kind", "values"}
    line_facts: dict[str, list] = field(default_factory=dict)
    quantities: dict[str, str] = field(default_factory=dict)  # code -> "quantity" | "coefficient"
    history_codes: list[str] = field(default_factory=list)    # codes counted by the limits of the chosen codes
    history_gaps: list[int] = field(default_factory=list)     # days before the claim around each limit's period
    history_max: int = 3                                       # up to the largest limit + 1 earlier acts
    same_pointers: list[str] = field(default_factory=list)     # identifiers a limit's `same` compares (patient.id...)
    depassements: list[str] = field(default_factory=list)      # codes priced percent_cap / declared: line.amount
    modifiers: list[str] = field(default_factory=list)         # codes priced percent_of_base: modifies / base_amount
    external: list[str] = field(default_factory=list)          # codes priced from an external base: base_amount
    hours: list[int] = field(default_factory=list)             # hours a condition compares (encounter.hour)
    primary: list[str] = field(default_factory=list)           # the codes asked for (codes = these + related ones)
    territories: list[str] = field(default_factory=list)


def related_codes(spec, codes: list[str]) -> list[str]:
    """The codes a line of `codes` depends on or is tied to (SEMANTIQUE.md § 2.3-2.4): its base acts (codes, and the
    first few codes of each base category) and the codes of the non-cumuls it takes part in."""
    from convmed.claim_plan import declarations, non_cumul_index

    by_category: dict[str, list[str]] = {}
    for code, c in sorted(spec.acts_by_code.items()):
        by_category.setdefault(c.data["category"], []).append(code)
    out: dict[str, None] = {}
    index = non_cumul_index(spec)
    for code in codes:
        concept = spec.acts_by_code[code]
        for _, item in declarations(spec, concept, "base"):
            for k in item.get("codes", []):
                out.setdefault(k, None)
            for cat in item.get("categories", []):
                for k in [x for x in ("G", "CS", "C", "VG", "V") if x in by_category.get(cat, [])][:2] or \
                        by_category.get(cat, [])[:2]:
                    out.setdefault(k, None)
        for _, _, _, others in index.get(code, []):
            for k in others:
                out.setdefault(k, None)
        for other, lst in index.items():
            if any(code in others for _, _, _, others in lst):
                out.setdefault(other, None)
    return [k for k in out if k not in codes and k in spec.acts_by_code]


def domain(spec, codes: list[str] | None = None) -> Domain:
    known = sorted(spec.acts_by_code)
    if codes:
        unknown = [c for c in codes if c not in spec.acts_by_code]
        if unknown:
            raise ConvmedError.single(f"codes inconnus du spec : {', '.join(unknown)}", pointer="--codes", code="usage")
    chosen = list(codes) + related_codes(spec, list(codes)) if codes else known
    hours: set[int] = set()
    vocabulary = spec.facts_vocabulary if hasattr(spec, "facts_vocabulary") else spec.vocabulary("facts")
    days: set[date] = set()
    specialties: list[str] = []
    ages: set[int] = set()
    operands: dict[str, set] = {}
    history_codes: dict[str, None] = {}
    history_gaps: set[int] = set()
    history_max = 1
    same_pointers: dict[str, None] = {}
    for code in chosen:
        concept = spec.acts_by_code[code]
        for entry in concept.timeline.entries:
            for d in (entry.lo, entry.hi):
                if DATE_MIN <= d <= DATE_MAX:
                    days.update({d - timedelta(days=1), d, d + timedelta(days=1)})
        items = [i for key in RULE_SECTIONS for i in concept.data.get(key, [])]
        for rule in spec.rules_by_code.get(code, []):
            items += [i for key in RULE_SECTIONS for i in rule.data.get(key, [])]
        for item in items:
            for hc in item.get("count_codes", []):
                history_codes.setdefault(hc, None)
            if isinstance(item.get("max"), int):
                history_max = max(history_max, min(item["max"] + 1, 6))
            for name in item.get("same", []):
                pointer = vocabulary.get(name, {}).get("claim_pointer")
                if pointer and name.endswith("id"):
                    same_pointers.setdefault(pointer, None)
            if "period" in item:
                span = {"day": 1, "iso_week": 7, "calendar_year": 365, "rolling_days": item.get("days", 1),
                        "ever": 3650, "stay": 1}.get(item["period"], 1)
                history_gaps.update({0, 1, span - 1, span, span + 1} - {-1})
            for key in ("from", "until"):
                if isinstance(item.get(key), str):
                    d = date.fromisoformat(item[key])
                    days.update({d - timedelta(days=1), d})
            for leaf in (leaf for key in ("condition", "unless", "when") for leaf in _leaves(item.get(key, {}))):
                name = leaf["fact"]
                op, operand = of(leaf)   # what each operator compares with: convmed.operators
                ints = op.critical(operand)
                if name == "encounter.hour":
                    # around a compared hour; the listed hours themselves
                    near = ints if isinstance(operand, list) else [h + d for h in ints for d in (-1, 0, 1)]
                    hours.update(h for h in near if 0 <= h <= 23)
                if op.by_order and not op.by_equality and name in ("patient.age_years", "patient.age_months"):
                    for v in ints:   # an order comparison of an age: the years around the bound
                        bound = v if name == "patient.age_years" else v // 12
                        ages.update(a for a in (bound - 1, bound, bound + 1) if 0 <= a <= 120)
                if name == "doctor.specialty":
                    for v in op.terms(operand):
                        if v not in specialties:
                            specialties.append(v)
                elif name not in _SPECIAL_FACTS and not op.presence:
                    bucket = operands.setdefault(name, set())
                    for v in (operand if isinstance(operand, list) else [operand]):
                        bucket.add((op.name, json.dumps(v)))
    all_specialties = sorted(spec.vocabulary("specialties")) or ["medecine_generale"]
    d = Domain(codes=chosen, dates=sorted(days), specialties=specialties or all_specialties[:3],
               all_specialties=all_specialties, ages=sorted(ages) or [30],
               history_codes=list(history_codes), history_gaps=sorted(g for g in history_gaps if g >= 0),
               history_max=history_max, same_pointers=list(same_pointers))
    for name, ops in sorted(operands.items()):
        term = vocabulary.get(name, {})
        pointer = term.get("claim_pointer")
        if not pointer:
            continue
        values: set = set()
        kind = "enum"
        for op, raw in ops:
            v = json.loads(raw)
            operator = REGISTRY[op]
            if isinstance(v, bool):
                kind = "bool"
                values.add(bool(v))
            elif operator.by_order and not operator.by_equality and isinstance(v, int):
                kind = "int"
                values.update(x for x in (v - 1, v, v + 1) if x >= 0)
            elif isinstance(v, (str, int)):
                values.add(v)
        if kind == "bool":   # the value a condition asks for first (reached more often), then the other
            wanted = [True] if True in values or not values else [False]
            values = wanted + [not wanted[0]]
        else:
            values = sorted(values, key=str)
        if pointer.startswith("/line/"):
            d.line_facts[pointer.split("/", 2)[2]] = values
        else:
            d.facts[pointer] = {"kind": kind, "values": values}
    for code in chosen:
        method = spec.acts_by_code[code].data.get("pricing", "fixed")
        if method in ("per_quantity", "per_coefficient", "coefficient"):
            d.quantities[code] = "quantity" if method == "per_quantity" else "coefficient"
        elif method in ("percent_cap", "declared"):
            d.depassements.append(code)
        elif method == "percent_of_base":
            d.modifiers.append(code)
        elif method == "external_base":
            d.external.append(code)
    d.hours = sorted(hours) or [10, 20]
    d.primary = list(codes) if codes else chosen
    d.territories = ["metropole"] + sorted(t for t in spec.vocabulary("territories") if t != "metropole")
    _drop_unusable_facts(d)
    return d


def _set_pointer(obj: dict, pointer: str, value) -> None:
    parts = pointer.strip("/").split("/")
    for p in parts[:-1]:
        obj = obj.setdefault(p, {})
    obj[parts[-1]] = value


def _drop_unusable_facts(d: Domain) -> None:
    """Keep only the facts the claim schema accepts (the spec may read facts from elsewhere)."""
    from convmed.schemas import validate

    for pointer, info in list(d.facts.items()):
        sample = {"date": "2025-01-10", "doctor": {"specialty": "medecine_generale", "sector": "S1"},
                  "lines": [{"code": d.codes[0]}]}
        value = info["values"][0] if info["values"] else None
        if value is None:
            del d.facts[pointer]
            continue
        _set_pointer(sample, pointer, value)
        if validate(sample, "claim"):
            del d.facts[pointer]
    for name, values in list(d.line_facts.items()):
        sample = {"date": "2025-01-10", "doctor": {"specialty": "medecine_generale", "sector": "S1"},
                  "lines": [{"code": d.codes[0], name: values[0] if values else True}]}
        if not values or validate(sample, "claim"):
            del d.line_facts[name]


# ---------------------------------------------------------------------- strategies
def claims(d: Domain):
    """A Hypothesis strategy of schema-valid claims over the domain `d`."""
    from hypothesis import strategies as st

    day = st.one_of(st.sampled_from(d.dates), st.dates(DATE_MIN, DATE_MAX)) if d.dates else st.dates(DATE_MIN, DATE_MAX)
    specialty = st.one_of(st.sampled_from(d.specialties), st.sampled_from(d.all_specialties))
    line_fact_values = {k: st.sampled_from(v) for k, v in d.line_facts.items()}

    money = st.sampled_from(["0.50", "3.00", "5.00", "5.01", "6.00", "6.01", "10.00", "40.00"])

    @st.composite
    def line(draw, code, n):
        out = {"code": code}
        for name, strat in line_fact_values.items():
            if draw(st.integers(0, 3)):
                out[name] = draw(strat)
        if code in d.quantities:
            out[d.quantities[code]] = draw(st.sampled_from(["1", "2", "0.5", "10"]))
        if code in d.depassements:
            if draw(st.integers(0, 5)):
                out["amount"] = draw(money)
            if n > 1 and draw(st.integers(0, 2)) == 2:
                out["base_line"] = draw(st.integers(0, n - 1))
        if code in d.modifiers and n > 1 and draw(st.booleans()):
            out["modifies"] = draw(st.integers(0, n - 1))
        elif (code in d.modifiers or code in d.external) and draw(st.integers(0, 3)):
            out["base_amount"] = draw(money)
        return out

    @st.composite
    def claim(draw):
        on = draw(day)
        # the codes asked for half of the time, any code of the domain (with the related ones) otherwise
        codes = draw(st.lists(st.one_of(st.sampled_from(d.primary or d.codes), st.sampled_from(d.codes)),
                              min_size=1, max_size=3))
        doctor = {"specialty": draw(specialty), "sector": draw(st.sampled_from(["S1", "S2", "DP"]))}
        option = draw(st.sampled_from([None, "OPTAM", "OPTAM_ACO", "none", "CAS"]))
        if option:
            doctor["option"] = option
        out = {"date": on.isoformat(), "doctor": doctor, "lines": [draw(line(c, len(codes))) for c in codes]}
        for i, l in enumerate(out["lines"]):   # a line never names itself
            for key in ("base_line", "modifies"):
                if l.get(key) == i:
                    del l[key]
        if draw(st.integers(0, 2)) == 2:   # a third of the claims name a territory; shrinks to none
            out["territory"] = draw(st.sampled_from(d.territories))
        if draw(st.booleans()):
            hour = draw(st.one_of(st.sampled_from(d.hours), st.integers(0, 23)))
            out["time"] = f"{hour:02d}:{draw(st.sampled_from([0, 30, 59])):02d}"
        age_form = draw(st.sampled_from(["none", "age_years", "birth_date"]))
        if age_form != "none":
            age = draw(st.one_of(st.sampled_from(d.ages), st.integers(0, 99)))
            if age_form == "age_years":
                out["patient"] = {"age_years": age}
            else:
                shift = draw(st.sampled_from([0, 1, -1]))  # birthday today, tomorrow, yesterday
                try:
                    birthday = on.replace(year=on.year - age)
                except ValueError:  # 29 February
                    birthday = on.replace(year=on.year - age, day=28)
                birth = birthday + timedelta(days=shift)
                if birth <= on:
                    out["patient"] = {"birth_date": birth.isoformat()}
        if d.history_codes and draw(st.booleans()):
            history = []
            for _ in range(draw(st.integers(1, d.history_max))):
                gap = draw(st.sampled_from(d.history_gaps or [0]))
                when = on - timedelta(days=gap)
                if when >= DATE_MIN:
                    history.append({"date": when.isoformat(), "code": draw(st.sampled_from(d.history_codes))})
            if history:
                out["history"] = history
            if d.same_pointers and draw(st.booleans()):
                for pointer in d.same_pointers:   # the same patient / doctor / stay as the history (which omits ids)
                    _set_pointer(out, pointer, "id1")
        for pointer, info in d.facts.items():
            if draw(st.integers(0, 3)):   # present 3 times out of 4; shrinks to absent
                if info["kind"] == "bool":
                    value = draw(st.sampled_from(info["values"]))
                elif info["kind"] == "int":
                    value = draw(st.one_of(st.sampled_from(info["values"]), st.integers(0, 200)))
                else:
                    value = draw(st.sampled_from(info["values"]))
                _set_pointer(out, pointer, value)
        return out

    return claim()


# ---------------------------------------------------------------------- comparison
def projection(oracle_output: dict) -> dict:
    lines = []
    for line in oracle_output.get("lines", []):
        item = {"code": line["code"], "status": line["status"]}
        if line["status"] == "priced":
            item["amount"] = line["amount"]
        else:
            item["reason"] = line.get("reason")
        lines.append(item)
    return {"lines": lines, "total": oracle_output.get("total")}


def signature(expected: dict, diffs) -> tuple[str, str]:
    for d in diffs:
        parts = d.pointer.strip("/").split("/")
        if parts[0] == "lines" and len(parts) >= 3 and parts[1].isdigit():
            return expected["lines"][int(parts[1])]["code"], parts[2]
    first = diffs[0].pointer.strip("/").split("/")
    return "*", first[0] if first else "result"


class Disagreement(Exception):
    def __init__(self, claim, expected, actual, diffs, sig):
        super().__init__(f"{sig}")
        self.claim, self.expected, self.actual, self.diffs, self.sig = claim, expected, actual, diffs, sig


@dataclass
class Fault:
    signature: tuple[str, str]
    claim: dict
    expected: dict
    actual: object
    differences: list
    found_after: int


def fuzz(adapter, d: Domain, *, examples: int, seed: int, timeout: float = 10.0, max_faults: int = 5) -> tuple[list[Fault], int]:
    """Search distinct disagreements; returns (faults, examples generated)."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed

    from convmed.schemas import validate

    faults: dict[tuple, Fault] = {}
    counter = {"n": 0, "seq": 0, "generated": 0}
    strategy = claims(d)

    def compare(claim):
        expected = projection(evaluate("claim", claim))
        counter["seq"] += 1
        response = adapter.run(counter["seq"], {"id": f"fuzz-{counter['seq']}", "kind": "claim", "input": claim}, timeout)
        if response.outcome == "skipped":
            return None
        if response.outcome == "errored":
            return expected, {"errored": response.reason}, [], ("*", "errored")
        diffs = differences(expected, response.result)
        if not diffs:
            return None
        return expected, response.result, diffs, signature(expected, diffs)

    budget = examples
    round_no = 0
    while budget > 0 and len(faults) < max_faults:
        first_hit = {"at": None}
        start_generated = counter["generated"]

        @hseed(seed + round_no)
        @settings(max_examples=budget, database=None, deadline=None, derandomize=False, report_multiple_bugs=False,
                  phases=[Phase.generate, Phase.shrink], print_blob=False,
                  suppress_health_check=list(HealthCheck))
        @given(strategy)
        def probe(claim):
            if validate(claim, "claim"):
                return
            if first_hit["at"] is None:
                counter["generated"] += 1
            outcome = compare(claim)
            if outcome is None:
                return
            expected, actual, diffs, sig = outcome
            if sig in faults:
                return
            if first_hit["at"] is None:
                first_hit["at"] = counter["generated"]
            raise Disagreement(claim, expected, actual, diffs, sig)

        try:
            probe()
        except Disagreement as exc:
            faults[exc.sig] = Fault(exc.sig, exc.claim, exc.expected, exc.actual, exc.diffs, first_hit["at"])
        except Exception as exc:  # noqa: BLE001 - e.g. a flaky adapter: report what was found so far
            inner = getattr(exc, "exceptions", None) or []
            hits = [e for e in inner if isinstance(e, Disagreement)]
            if not hits:
                raise
            e = hits[0]
            faults[e.sig] = Fault(e.sig, e.claim, e.expected, e.actual, e.diffs, first_hit["at"])
        else:
            break
        budget = examples - counter["generated"]
        round_no += 1
        if counter["generated"] == start_generated:
            break
    return list(faults.values()), counter["generated"]


# ---------------------------------------------------------------------- vector file
def _trace_refs(oracle_line: dict) -> tuple[list[str], list[dict]]:
    rules, seeds = [], []
    # a line's concept is an act, cited by its code (SEMANTIQUE § 7.1; `concept` is the file's path id)
    cited = oracle_line["code"] if oracle_line.get("concept") else None
    if cited:
        rules.append(cited)
    for step in oracle_line.get("trace", []):
        decisive = step.get("step") in ("value", "in_force") and step.get("outcome") in ("pass", "fail", "unknown") \
            or step.get("outcome") == "fail"
        if not decisive or "rule" not in step:
            continue
        if step["rule"] not in rules and (step.get("step") != "in_force" or step["rule"] != cited):
            rules.append(step["rule"])
        for s in step.get("sources", []):
            ref = {k: s[k] for k in ("seed", "path", "quote") if k in s and s[k] is not None}
            if "seed" in ref and "quote" in ref and ref not in seeds:
                seeds.append(ref)
    return rules, seeds


def _describe(line: dict, on: str) -> str:
    if line["status"] == "priced":
        return f"La ligne {line['code']} vaut {line['amount']} le {on}"
    if line["status"] == "refused":
        return f"La ligne {line['code']} est refusée le {on} ({line.get('reason')})"
    return f"Le montant de {line['code']} est inconnu le {on} ({line.get('reason')})"


def vector_file(faults: list[Fault], family: str, implementation: dict, seed: int, examples: int) -> dict:
    cases = []
    for n, fault in enumerate(faults, 1):
        full = evaluate("claim", fault.claim)
        code, fld = fault.signature
        index = next((i for i, line in enumerate(fault.expected["lines"]) if line["code"] == code), 0)
        rules, seeds = _trace_refs(full["lines"][index]) if full.get("lines") else ([], [])
        cid = f"{family}.{code.lower()}-{fld}-{n}".replace("*", "x").replace("_", "-")
        case = {"id": cid, "description": _describe(fault.expected["lines"][index], fault.claim["date"]),
                "level": "required", "rules": rules or [f"acts"], "kind": "claim",
                "input": fault.claim, "expected": fault.expected}
        if seeds:
            case["seeds"] = seeds
        cases.append({k: case[k] for k in ("id", "description", "level", "rules", "seeds", "kind", "input", "expected")
                      if k in case})
    impl = f"{implementation.get('name', '?')} {implementation.get('version', '')}".strip()
    return {"family": family,
            "description": (f"Désaccords minimaux trouvés par « convmed conformance fuzz » (graine {seed}, {examples} "
                            f"exemples) entre {impl} et l'oracle ; attendus de l'oracle, à relire contre les sources "
                            f"citées avant de verser ces cas dans la suite."),
            "cases": cases}


def family_codes(spec, families: list[str], suite_root: Path | None) -> list[str]:
    """The spec codes billed by the claim vectors of these families (`--family`)."""
    from convmed.conformance.vectors import load_suite

    suite, _ = load_suite(suite_root, strict=False)
    known = {c.family for c in suite.cases}
    unknown = [f for f in families if f not in known]
    if unknown:
        raise ConvmedError.single(f"famille inconnue : {', '.join(unknown)} (familles : {', '.join(sorted(known))})",
                                  pointer="--family", code="usage")
    out: dict[str, None] = {}
    for case in suite.cases:
        if case.family in families and case.kind == "claim":
            for line in case.input.get("lines", []):
                if line.get("code") in spec.acts_by_code:
                    out.setdefault(line["code"], None)
    if not out:
        raise ConvmedError.single(f"aucun code du spec dans les vecteurs de {', '.join(families)}", pointer="--family",
                                  code="usage")
    return list(out)


def fuzz_command(args, suite_root: Path | None) -> int:
    import re
    import sys

    from convmed.conformance.protocol import AdapterStartError, make_adapter, start_message
    from convmed.model import load_spec

    if args.examples < 1:
        raise ConvmedError.single("--examples doit être ≥ 1", pointer="--examples", code="usage")
    spec = load_spec()
    codes = [c.strip() for c in args.codes.split(",") if c.strip()] if args.codes else None
    if getattr(args, "family", None):
        codes = (codes or []) + family_codes(spec, args.family, suite_root)
    d = domain(spec, list(dict.fromkeys(codes)) if codes else None)
    meta = {"suite_version": "fuzz", "spec_version": spec.version}
    try:
        from convmed.conformance.vectors import _read_meta, default_suite_dir

        meta["suite_version"] = _read_meta(suite_root or default_suite_dir())["suite_version"]
    except ConvmedError:
        pass
    adapter = make_adapter(command=args.adapter, url=args.url, python=args.python)
    try:
        implementation = adapter.start(start_message(meta["suite_version"], meta["spec_version"]))
    except AdapterStartError as exc:
        raise ConvmedError.single(str(exc), pointer=getattr(adapter, "option", "--adapter"), code="adapter") from None
    try:
        faults, generated = fuzz(adapter, d, examples=args.examples, seed=args.seed, timeout=args.timeout,
                                 max_faults=args.max_faults)
    finally:
        adapter.close()
    out = Path(args.out)
    family = re.sub(r"[^a-z0-9-]+", "-", out.stem.lower()).strip("-") or "fuzz"
    if out.stem != family:
        out = out.with_name(family + out.suffix)
    print(f"{generated} exemples, graine {args.seed}, codes : {', '.join(d.codes[:12])}"
          f"{' …' if len(d.codes) > 12 else ''}", file=sys.stderr)
    if not faults:
        print("aucun désaccord trouvé")
        return 0
    for f in faults:
        diff = "; ".join(x.render() for x in f.differences[:3]) or str(f.actual)
        print(f"désaccord {f.signature[0]}/{f.signature[1]} (trouvé après {f.found_after} exemples) : {diff}")
        print("  demande minimale : " + json.dumps(f.claim, ensure_ascii=False))
    data = vector_file(faults, family, implementation, args.seed, generated)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"{len(faults)} vecteur(s) minimal(aux) écrit(s) dans {out}")
    return 1
