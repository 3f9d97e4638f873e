"""compute(input) -> result: the generic part of every forfait.

1. the date: `year` n -> rules in force on 31/12/n; `date` D -> rules in force on D,
   year n = year of D (the patientèle and ages are always taken at 31/12/n);
2. the scheme file (spec/forfaits/<scheme>/scheme.yaml): in force on that date?
   (not yet or abolished -> refused SCHEME_NOT_IN_FORCE; uncertain start -> unknown);
3. its requirements on the doctor profile (first failure refuses the scheme);
4. the formula kind named by the scheme -> components (computed / unknown / not_applicable);
5. the payment calendar of the scheme applied to the computed components;
6. total = sum of the computed components (Decimal, no rounding: the seeds give none
   for forfaits); complete = no unknown component.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from convmed.conditions import describe, evaluate
from convmed.errors import ConvmedError
from convmed.facts import MissingFact
from convmed.forfaits import registry
from convmed.forfaits.context import Component, Context, money, source_list
from convmed.forfaits.facts import ForfaitFacts
from convmed.money import fmt, parse_decimal
from convmed.timeline import Timeline, item_window
from convmed.timeline import validity as item_validity


def find_scheme(spec, name: str):
    for c in spec.of_kind("scheme"):
        if c.data.get("scheme") == name:
            return c
    return None


def scheme_names(spec) -> list[str]:
    return sorted(c.data["scheme"] for c in spec.of_kind("scheme"))


def validate_input(request, file: str | None = None, text: str | None = None) -> None:
    from convmed.schemas import validate
    from convmed.yamlio import json_line_map

    problems = validate(request, "forfait-input", file=file)
    if problems:
        if text is not None:
            lines = json_line_map(text)
            problems = [type(p)(p.message, file=p.file, line=lines.line_for(p.pointer or ""), pointer=p.pointer,
                                code=p.code) for p in problems]
        raise ConvmedError(problems)
    for key in ("date",):
        if key in request:
            try:
                date.fromisoformat(request[key])
            except ValueError:
                raise ConvmedError.single(f"impossible date {request[key]!r}", file=file, pointer=f"/{key}",
                                          code="date") from None
    for key in ("birth_date", "first_installation_date", "installation_date", "activity_end_date"):
        value = request["doctor"].get(key)
        if value is not None:
            try:
                date.fromisoformat(value)
            except ValueError:
                raise ConvmedError.single(f"impossible date {value!r}", file=file, pointer=f"/doctor/{key}",
                                          code="date") from None


def _refused(base: dict, reason: str, message: str, trace: list) -> dict:
    return {**base, "status": "refused", "reason": reason, "message": message, "complete": True,
            "components": [], "total": "0.00", "payments": [], "trace": trace}


def compute(request: dict, spec=None, *, file: str | None = None, base_dir: Path | None = None,
            patients_path: str | None = None, validated: bool = False) -> dict:
    from convmed.model import load_spec

    spec = spec or load_spec()
    if not validated:
        validate_input(request, file)
    if "date" in request:
        as_of = date.fromisoformat(request["date"])
        year = as_of.year
    elif "year" in request:
        year = request["year"]
        as_of = date(year, 12, 31)
    else:
        raise ConvmedError.single("give the year of the forfait (`year`, --year) or a date (`date`, --date)",
                                  file=file, pointer="", code="input")
    name = request["scheme"]
    scheme = find_scheme(spec, name)
    if scheme is None:
        raise ConvmedError.single(f"unknown scheme {name!r} (known: {', '.join(scheme_names(spec))})",
                                  file=file, pointer="/scheme", code="input")
    data = scheme.data
    base = {"scheme": name, "label": data["label"], "formula": data["formula"], "year": year,
            "as_of": as_of.isoformat(), "spec_version": spec.version}
    trace: list[dict] = [{"step": "date", "year": year, "as_of": as_of.isoformat(),
                          "text": f"règles en vigueur au {as_of.isoformat()} ; patientèle et âges au 31/12/{year}"}]

    # in force?
    res = Timeline.from_values(data["in_force"]).resolve(as_of)
    step = {"step": "scheme", "id": scheme.id, "label": data["label"]}
    if res.entry is None:
        first = min((e.start_text() for e in Timeline.from_values(data["in_force"]).entries), default="?")
        step.update(in_force=False)
        trace.append(step)
        return _refused(base, "SCHEME_NOT_IN_FORCE",
                        f"{data['label']} : pas encore en vigueur au {as_of.isoformat()} (à partir du {first})", trace)
    e = res.entry
    if res.uncertain:
        step.update(in_force=None, reason="DATE_UNCERTAIN", candidates=[x.start_text() for x in (res.previous, e) if x])
        trace.append(step)
        return {**base, "status": "unknown", "reason": "DATE_UNCERTAIN",
                "message": f"{data['label']} : date d'effet non donnée par les sources ({e.start_text()})",
                "complete": False, "components": [], "total": "0.00", "payments": [], "trace": trace}
    if e.is_abolished:
        step.update(in_force=False, abolished_from=e.start_text(), sources=source_list(e.raw))
        trace.append(step)
        return _refused(base, "SCHEME_NOT_IN_FORCE",
                        f"{data['label']} : dispositif supprimé à partir du {e.start_text()}", trace)
    if e.is_gap:
        step.update(in_force=None, reason="VALUE_GAP", note=e.raw["gap"]["note"])
        trace.append(step)
        return {**base, "status": "unknown", "reason": "VALUE_GAP", "message": e.raw["gap"]["note"],
                "complete": False, "components": [], "total": "0.00", "payments": [], "trace": trace}
    step.update(in_force=True, **{"from": e.start_text()}, status=e.raw.get("status"), sources=source_list(e.raw))
    if res.until:
        step["until"] = res.until.isoformat()
    trace.append(step)

    # eligibility of the doctor
    facts = ForfaitFacts(request, spec.vocabulary("facts"), date(year, 12, 31))
    # the requirements as the pricer reads them (SEMANTIQUE § 3.3 / 3.5): a certain failure refuses; else a missing
    # fact refuses MISSING_FACT; else a failure in an uncertain window makes the result DATE_UNCERTAIN
    missing = uncertain = None
    for req in data.get("requirements", []):
        in_force = item_validity(item_window(req), as_of)   # SEMANTIQUE § 1.4, as the pricer reads it
        if in_force == "out":
            continue
        rstep = {"step": "requirement", "id": f"{scheme.id}#{req['id']}", "condition": describe(req["condition"])}
        try:
            ok = evaluate(req["condition"], facts)
        except MissingFact as exc:
            rstep.update(result=None, missing=exc.name)
            trace.append(rstep)
            missing = missing or (req, exc.name)
            continue
        rstep.update(result=ok, status=req["status"], sources=source_list(req))
        trace.append(rstep)
        if not ok and in_force == "uncertain":   # the sources do not say whether it applies yet on that day
            rstep["uncertain"] = True
            uncertain = uncertain or req
        elif not ok:
            return _refused(base, req["refusal"]["reason"], req["refusal"]["message"], trace)
    if missing is not None:
        req, name = missing
        return _refused(base, "MISSING_FACT",
                        f"{req['description']} : le fait {name} n'est pas fourni dans le profil du médecin", trace)
    if uncertain is not None:
        return {**base, "status": "unknown", "reason": "DATE_UNCERTAIN",
                "message": f"{uncertain['description']} : non remplie, et les sources ne disent pas si cette condition "
                           f"s'applique déjà au {as_of.isoformat()}", "complete": False, "components": [],
                "total": "0.00", "payments": [], "trace": trace}

    fn = registry.get(data["formula"])
    if fn is None:
        raise RuntimeError(f"formula kind {data['formula']!r} of {scheme.id} is not implemented")
    ctx = Context(spec, scheme, request, year, as_of, file=file, base_dir=base_dir, patients_path=patients_path)
    ctx.trace = trace
    components: list[Component] = fn(ctx)
    _declared_labels(scheme, components)

    total = sum((c.amount for c in components if c.status == "computed" and c.amount is not None), Decimal(0))
    complete = all(c.status != "unknown" for c in components)
    comp_dicts = [c.as_dict() for c in components]
    payments = _payments(data, components, comp_dicts, year)
    out = {**base, "status": "computed" if complete else "unknown", "complete": complete,
           "components": comp_dicts, "total": money(total), "payments": payments}
    if ctx.patient_summary is not None:
        out["patients"] = ctx.patient_summary
    out["trace"] = trace
    return out


def _declared_labels(scheme, components: list[Component]) -> None:
    """A component's label is the one its scheme declares (scheme.yaml `components`, one label in the spec);
    a formula's more specific wording (« … en ZIP », « … (1 ETP, année 1) ») is kept in the details as
    `variant`. Sub-components (`prevention.i01_flu` under `prevention`) keep their own data labels (the
    indicator's). A component the scheme does not declare is a defect of the formula."""
    declared = {d["id"]: d["label"] for d in scheme.data.get("components", [])}
    for comp in components:
        if comp.id in declared:
            if comp.label != declared[comp.id]:
                comp.details = {**comp.details, "variant": comp.label}
                comp.label = declared[comp.id]
        elif not any(comp.id.startswith(k + ".") for k in declared):
            raise RuntimeError(f"scheme {scheme.id} produces {comp.id} without declaring it in `components`")


def _period(year: int, inst: dict) -> str:
    y = year + inst["year_offset"]
    if "month" in inst:
        return f"{y}-{inst['month']:02d}"
    if "semester" in inst:
        return f"{y}-S{inst['semester']}"
    if "quarter" in inst:
        return f"{y}-Q{inst['quarter']}"
    return f"{y}"


def _calendar_for(data: dict, cid: str) -> dict | None:
    fallback = None
    for entry in data.get("payments", []):
        comps = entry["components"]
        if cid in comps or any(cid.startswith(c + ".") for c in comps if c != "*"):
            return entry
        if "*" in comps:
            fallback = entry
    return fallback


def _payments(data: dict, components: list[Component], comp_dicts: list[dict], year: int) -> list[dict]:
    """Per-component instalments (also attached to each component) and the merged schedule."""
    merged: dict[str, dict] = {}
    order: list[str] = []
    for comp, cd in zip(components, comp_dicts):
        if comp.status == "not_applicable" or (comp.status == "computed" and not comp.amount):
            continue
        entry = _calendar_for(data, comp.id)
        lines = []
        if entry is None or "gap" in entry:
            note = entry["gap"]["note"] if entry else "calendrier de versement non donné"
            lines.append({"period": "unknown", "label": note, "amount": cd["amount"], "status": "unknown"})
        else:
            for inst in entry["instalments"]:
                share = parse_decimal(inst["share"])
                amount = money(comp.amount * share) if comp.amount is not None else None
                lines.append({"period": _period(year, inst), "label": inst["label"], "amount": amount,
                              "status": "scheduled"})
        cd["payments"] = lines
        for line in lines:
            key = line["period"] + "|" + line["label"]
            if key not in merged:
                merged[key] = {"period": line["period"], "label": line["label"], "amount": Decimal(0),
                               "components": [], "status": line["status"]}
                order.append(key)
            m = merged[key]
            m["components"].append(comp.id)
            if line["amount"] is None or m["amount"] is None:
                m["amount"] = None
                m["status"] = "unknown"
            else:
                m["amount"] += parse_decimal(line["amount"])
    out = []
    for key in sorted(order, key=lambda k: (merged[k]["period"] == "unknown", merged[k]["period"])):
        m = merged[key]
        out.append({**m, "amount": money(m["amount"]) if m["amount"] is not None else None})
    return out
