"""What a formula sees: the request, the date, the spec, parameters read with a trace.

A formula reads every amount, rate or point value with `ctx.param(id)`: the value in
force at `ctx.as_of`, and a trace step (value, start date, status, sources, conflict).
A value the seeds do not give (gap), an uncertain start date or a parameter not yet
in force raises `Unknown`: the formula turns it into an `unknown` component, never a
silent zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Iterator

from convmed.errors import ConvmedError
from convmed.money import fmt, parse_decimal


class Unknown(Exception):
    """A value or rule the seeds do not give: the component is `unknown`."""

    def __init__(self, reason: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.reason, self.message, self.details = reason, message, details or {}


@dataclass
class Component:
    id: str
    label: str
    amount: Decimal | None = None
    status: str = "computed"          # computed | unknown | not_applicable
    reason: str | None = None
    message: str | None = None
    details: dict = field(default_factory=dict)

    @classmethod
    def unknown(cls, id: str, label: str, exc: Unknown, **details) -> "Component":
        return cls(id, label, None, "unknown", exc.reason, exc.message, {**exc.details, **details})

    @classmethod
    def not_applicable(cls, id: str, label: str, message: str, **details) -> "Component":
        return cls(id, label, None, "not_applicable", None, message, details)

    def as_dict(self) -> dict:
        out = {"id": self.id, "label": self.label, "status": self.status,
               "amount": money(self.amount) if self.amount is not None else None}
        if self.reason:
            out["reason"] = self.reason
        if self.message:
            out["message"] = self.message
        if self.details:
            out["details"] = _jsonable(self.details)
        return out


def money(amount: Decimal) -> str:
    """Exact amount as a decimal string, at least two decimals, no useless trailing zeros."""
    return fmt(amount.normalize())


def _jsonable(obj):
    if isinstance(obj, Decimal):
        return format(obj.normalize(), "f") if obj == obj.to_integral_value() or obj.as_tuple().exponent < 0 else format(obj, "f")
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, date):
        return obj.isoformat()
    return obj


def source_list(node: dict) -> list[dict]:
    return [{k: s[k] for k in ("seed", "path", "quote") if k in s} for s in node.get("sources", [])]


# kind -> (Python type, what the message says is expected, whether it shows the value or its type)
_PLAIN_KINDS = {"boolean": (bool, "true or false", "value"), "string": (str, "a string", "value"),
                "object": (dict, "an object", "type"), "list": (list, "a list", "type")}


class Context:
    def __init__(self, spec, scheme, request: dict, year: int, as_of: date, *, file: str | None = None,
                 base_dir: Path | None = None, patients_path: str | None = None):
        self.spec = spec
        self.scheme = scheme                    # Concept of kind scheme
        self.request = request
        self.year = year
        self.as_of = as_of
        self.reference_date = date(year, 12, 31)
        self.file = file
        self.base_dir = base_dir
        self.patients_path = patients_path
        self.trace: list[dict] = []
        self._params: dict[str, Decimal | Unknown] = {}
        self.territory = (request.get("doctor") or {}).get("territory", "metropole")
        self.patient_summary: dict | None = None

    # ------------------------------------------------------------------ inputs
    @property
    def doctor(self) -> dict:
        return self.request["doctor"]

    @property
    def inputs(self) -> dict:
        return self.request.get("inputs") or {}

    @cached_property
    def facts(self):
        """The request's facts (spec/vocabulary/facts.yaml) at the reference date, for the conditions of the spec."""
        from convmed.forfaits.facts import ForfaitFacts

        return ForfaitFacts(self.request, self.spec.vocabulary("facts"), self.reference_date)

    def choose(self, component: str) -> "Choice":
        """The one of `component`'s declared `choices` (scheme.yaml) whose `applies_when` holds (`choose_rate`)."""
        decl = next(d for d in self.scheme.data.get("components", []) if d["id"] == component)
        return choose_rate(self, decl["choices"], self.facts)

    def input_value(self, key: str, *, required: bool = True, kind: str = "decimal", default=None):
        """A per-scheme input, type-checked, with a located error when it is bad or missing."""
        pointer = f"/inputs/{key}"
        if key not in self.inputs:
            if required:
                raise ConvmedError.single(f"input {key!r} is required by scheme {self.scheme.data['scheme']}",
                                          file=self.file, pointer=pointer, code="input")
            return default
        return self.typed(pointer, self.inputs[key], kind)

    def typed(self, pointer: str, value, kind: str = "decimal"):
        """`value` (found at `pointer` of the request) checked as `kind`; a located error otherwise.
        Schemes use it for the values nested inside their object inputs (e.g. /inputs/counts/<cell>)."""
        try:
            if kind == "decimal":   # bounded: 15 digits before the point, 10 after (exact in the oracle's context)
                return parse_decimal(value, max_int_digits=15, max_decimals=10)
            if kind in ("integer", "count"):
                if isinstance(value, bool) or not isinstance(value, int):
                    raise ValueError(f"expected an integer, got {value!r}")
                if abs(value) >= 10 ** 15:
                    raise ValueError(f"integer out of range (at most 15 digits): {str(value)[:20]}...")
                if kind == "count" and value < 0:
                    raise ValueError(f"expected a count (integer >= 0), got {value!r}")
                return value
            expected_type, wanted, show = _PLAIN_KINDS[kind]
            if not isinstance(value, expected_type):
                raise ValueError(f"expected {wanted}, got {value!r}" if show == "value"
                                 else f"expected {wanted}, got {type(value).__name__}")
            return value
        except ValueError as exc:
            raise ConvmedError.single(str(exc), file=self.file, pointer=pointer, code="input") from None

    def bad_input(self, pointer: str, message: str) -> ConvmedError:
        return ConvmedError.single(message, file=self.file, pointer=pointer, code="input")

    # -------------------------------------------------------------- parameters
    def _declared(self, pid: str) -> None:
        declared = self.scheme.data.get("parameters", [])
        if not any(pid == d or pid.startswith(d + ".") for d in declared):
            raise RuntimeError(f"scheme {self.scheme.id} reads {pid} without declaring it in `parameters`")

    def concept(self, pid: str):
        self._declared(pid)
        c = self.spec.concepts.get(pid)
        if c is None:
            raise RuntimeError(f"parameter {pid} is not in spec/")
        return c

    def param(self, pid: str) -> Decimal:
        """The value of parameter `pid` in force at `as_of` (traced once); raises Unknown."""
        if pid in self._params:
            got = self._params[pid]
            if isinstance(got, Unknown):
                raise got
            return got
        try:
            value = self._resolve(pid)
        except Unknown as exc:
            self._params[pid] = exc
            raise
        self._params[pid] = value
        return value

    def try_param(self, pid: str) -> Decimal | None:
        try:
            return self.param(pid)
        except Unknown:
            return None

    def _resolve(self, pid: str) -> Decimal:
        c = self.concept(pid)
        label = c.data.get("label", pid)
        specialty = self.doctor.get("specialty")
        r = c.timeline.resolve(self.as_of, self.territory, specialty)
        step = {"step": "parameter", "id": pid, "label": label, "unit": c.data.get("unit")}
        if r.entry is None:
            step.update(status="unknown", reason="NOT_IN_FORCE")
            self.trace.append(step)
            raise Unknown("NOT_IN_FORCE", f"{label} : aucune valeur en vigueur au {self.as_of.isoformat()}", {"parameter": pid})
        e = r.entry
        if r.uncertain:
            prev = r.previous
            cands = [{"value": fmt(x.value) if x.value is not None else None, "from": x.start_text()}
                     for x in (prev, e) if x is not None]
            step.update(status="unknown", reason="DATE_UNCERTAIN", candidates=cands,
                        note=e.raw["from"].get("note") if isinstance(e.raw["from"], dict) else None)
            self.trace.append(step)
            raise Unknown("DATE_UNCERTAIN", f"{label} : date d'effet non donnée par les sources ; au "
                          f"{self.as_of.isoformat()} deux valeurs sont possibles", {"parameter": pid, "candidates": cands})
        if e.is_gap:
            gap = e.raw["gap"]
            step.update(status="unknown", reason="VALUE_GAP", note=gap["note"], points_to=gap["points_to"], **{"from": e.start_text()})
            self.trace.append(step)
            raise Unknown("VALUE_GAP", f"{label} : {gap['note']} (voir {gap['points_to']})", {"parameter": pid})
        if e.is_abolished:
            step.update(status="unknown", reason="ABOLISHED", **{"from": e.start_text()})
            self.trace.append(step)
            raise Unknown("ABOLISHED", f"{label} : supprimé depuis le {e.start_text()}", {"parameter": pid})
        step.update({"value": fmt(e.value) if c.data.get("unit", "").startswith("EUR") else format(e.value, "f"),
                     "from": e.start_text(), "status": e.raw.get("status"), "sources": source_list(e.raw)})
        if r.until:
            step["until"] = r.until.isoformat()
        if "conflict" in e.raw:
            step["conflict"] = e.raw["conflict"]["id"]
        if "derivation" in e.raw:
            step["derivation"] = e.raw["derivation"]["formula"]
        self.trace.append(step)
        return e.value

    def label(self, component: str) -> str:
        """A component's label as its scheme declares it (scheme.yaml `components`): one label, in the spec."""
        for decl in self.scheme.data.get("components", []):
            if decl["id"] == component:
                return decl["label"]
        raise RuntimeError(f"scheme {self.scheme.id} produces {component} without declaring it in `components`")

    def note(self, component: str, text: str, **values) -> None:
        """A formula step in the trace (French text, values as decimal strings)."""
        step = {"step": "formula", "component": component, "text": text}
        if values:
            step["values"] = _jsonable(values)
        self.trace.append(step)

    # ---------------------------------------------------------------- patients
    def has_patients(self) -> bool:
        return bool(self.patients_path) or "patients" in self.request or "patients_file" in self.request

    def patients(self) -> Iterator[dict]:
        """The patientèle, streamed record by record (validated, located errors)."""
        from convmed.forfaits.patientele import iter_inline, open_patients

        born_by = self.reference_date.isoformat()   # a patient born after it is refused, located
        if self.patients_path:
            yield from open_patients(self.patients_path, born_by=born_by)
        elif "patients_file" in self.request:
            pf = self.request["patients_file"]
            path = Path(pf["path"])
            if not path.is_absolute() and self.base_dir is not None:
                path = self.base_dir / path
            yield from open_patients(str(path), pf.get("format"), born_by)
        elif "patients" in self.request:
            yield from iter_inline(self.request["patients"], self.file, born_by)
        else:
            raise ConvmedError.single(f"scheme {self.scheme.data['scheme']} needs a patientèle: `patients`, "
                                      "`patients_file` or --patients", file=self.file, pointer="/patients", code="input")


class Choice:
    """What `choose_rate` selects among `options`: `pid` and its `applies_when` (None when none applies), the facts
    none could be decided without (`missing`), the values of the facts the conditions read (`read`)."""

    def __init__(self, options, pid, when, missing, read):
        self.options, self.pid, self.when, self.missing, self.read = options, pid, when, missing, read

    def not_applicable_text(self, ctx: "Context") -> str:
        wanted = [ctx.concept(p).data["applies_when"]["description"] for p in self.options]
        return "condition non remplie : " + " ; ou ".join(w[:1].lower() + w[1:] for w in wanted)

    def unresolved(self, ctx: "Context", cid: str, label: str, **details) -> Component:
        """The component when no option's condition is true: unknown (MISSING_FACT, naming the facts) when one is
        undecided, else not applicable, saying what would have opened it."""
        if self.missing:
            return Component(cid, label, None, "unknown", "MISSING_FACT", "faits non fournis : " + ", ".join(self.missing),
                             {"missing": self.missing})
        return Component.not_applicable(cid, label, self.not_applicable_text(ctx), **details)


def choose_rate(ctx: Context, rates: list[str], facts) -> Choice:
    """The one rate parameter of `rates` whose `applies_when` condition (three-valued, convmed.conditions) is true
    on `facts`, each condition traced as a requirement step of the rate."""
    from convmed.conditions import describe, facts_used, truth

    read: dict = {}
    missing: list[str] = []
    for pid in rates:
        when = ctx.concept(pid).data["applies_when"]
        value, lacking = truth(when["condition"], facts)
        for name in sorted(facts_used(when["condition"])):
            try:
                read[name] = facts.get(name)
            except Exception:   # noqa: BLE001 - a missing fact (MissingFact): reported through `missing`
                pass
        ctx.trace.append({"step": "requirement", "id": f"{pid}#applies_when", "condition": describe(when["condition"]),
                          "result": value, **({"missing": list(lacking)} if lacking else {})})
        if value is True:
            return Choice(rates, pid, when, [], read)
        missing += [m for m in lacking if m not in missing]
    return Choice(rates, None, None, missing, read)


def unmet_conditions(ctx: Context, component: str, label: str, lead: str) -> Component | None:
    """The declared `conditions` of `component` (scheme.yaml, cumulative, each applying when its `when` holds),
    each traced as a requirement step of the component: None when every one holds; else the component not
    applicable, `lead` then what it takes ("il faut …", every false condition's description), or, none false,
    unknown (MISSING_FACT) naming the facts missing to decide the others."""
    from convmed.conditions import describe, truth

    decl = next(d for d in ctx.scheme.data.get("components", []) if d["id"] == component)
    facts = ctx.facts
    failed: list[str] = []
    missing: list[str] = []
    for item in decl.get("conditions", []):
        step = {"step": "requirement", "id": f"{ctx.scheme.ref}#components/{component}/conditions/{item['id']}"}
        if "when" in item:
            applies, lacking = truth(item["when"], facts)
            if applies is False:
                continue
            if applies is None:
                missing += [m for m in lacking if m not in missing]
                ctx.trace.append({**step, "condition": describe(item["when"]), "result": None, "missing": list(lacking)})
                continue
        value, lacking = truth(item["condition"], facts)
        ctx.trace.append({**step, "condition": describe(item["condition"]), "result": value,
                          **({"missing": list(lacking)} if lacking else {})})
        if value is False:
            failed.append(item["description"])
        elif value is None:
            missing += [m for m in lacking if m not in missing]
    if failed:
        return Component.not_applicable(component, label, lead + "il faut " + ", ".join(failed) + ".")
    if missing:
        return Component(component, label, None, "unknown", "MISSING_FACT", "faits non fournis : " + ", ".join(missing))
    return None


def percent_of(ctx: Context, decl: dict, base: Component) -> Component:
    """A component of the declared kind `percent_of` (scheme.schema.json): `base` × the rate `choose_rate`
    selects among `decl["choices"]`. None true and one unknown: unknown (MISSING_FACT, naming the facts); all false:
    not applicable, the rates' descriptions saying what would have opened it. The facts read are in the details."""
    cid, label = decl["id"], decl["label"]
    choice = ctx.choose(cid)
    if choice.pid is None:
        details = {k.split(".", 1)[1]: v for k, v in choice.read.items() if not isinstance(v, (dict, list))}
        return choice.unresolved(ctx, cid, label, **details)
    pid, when = choice.pid, choice.when
    try:
        rate = ctx.param(pid)
    except Unknown as exc:
        return Component.unknown(cid, label, exc)
    if base.status != "computed":
        return Component(cid, label, None, "unknown", base.reason or "VALUE_GAP", f"{base.label} inconnue",
                         {"rate_percent": format(rate, "f")})
    amount = base.amount * rate / Decimal(100)
    ctx.note(cid, f"{when['description']} : {base.id} × {format(rate, 'f')} %", **{base.id: fmt(base.amount)},
             amount=fmt(amount))
    return Component(cid, label, amount, details={"rate_percent": format(rate, "f"), "base": fmt(base.amount)})
