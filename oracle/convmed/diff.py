"""What changes in the spec between two dates (`convmed diff --from D1 --to D2`).

For every concept that carries dated `values` (acts, parameters, and any future kind
with the same shape) or dated `in_force` periods (schemes), the state on D1 is compared with the state on D2, for the
general track (métropole, every specialty) and for each territory or specialty that
has entries of its own. A state is one of:

- `value`     : a decimal amount is in force (with the entry's status and sources);
- `gap`       : the spec records an explicit gap (the seeds do not give the value);
- `abolished` : the code is abolished;
- `uncertain` : the date falls in an uncertain start window (two candidates);
- `absent`    : nothing is defined yet on that date.

Requirements and limits with `from` / `until` (on acts, rules, any kind) that are in
force on one date and not on the other are listed as `started` / `ended`.

The engine reads the spec only; it never prices a claim.
"""

from __future__ import annotations

from convmed.model import RULE_SECTIONS

from dataclasses import dataclass, field
from datetime import date

from convmed.errors import ConvmedError
from convmed.timeline import Entry, Timeline, _MAX, _MIN

CHANGE_LABELS_FR = {
    "changed": "valeur modifiée",
    "appeared": "apparaît",
    "disappeared": "disparaît",
    "abolished": "supprimé",
    "became_gap": "devient une lacune",
    "gap_filled": "lacune comblée (valeur connue)",
    "became_uncertain": "date incertaine",
    "became_certain": "date désormais certaine",
    "restated": "même valeur, nouvelle entrée (statut ou sources)",
}

STATE_LABELS_FR = {
    "value": "valeur",
    "gap": "lacune",
    "abolished": "supprimé",
    "uncertain": "incertain",
    "absent": "non défini",
}

REQ_LABELS_FR = {"started": "commence à s'appliquer", "ended": "cesse de s'appliquer"}


@dataclass
class State:
    state: str
    value: str | None = None
    entry: Entry | None = None
    candidates: list[str] = field(default_factory=list)

    @property
    def status(self) -> str | None:
        return self.entry.raw.get("status") if self.entry else None

    def text(self) -> str:
        if self.state == "value":
            return self.value or ""
        if self.state == "uncertain":
            return "incertain (" + " ou ".join(self.candidates) + ")"
        return STATE_LABELS_FR[self.state]

    def as_dict(self) -> dict:
        out: dict = {"state": self.state}
        if self.value is not None:
            out["value"] = self.value
        if self.entry is not None:
            out["entry"] = self.entry.key   # its stable id (SEMANTIQUE § 7.1), not its position
            out["from"] = self.entry.start_text()
            if self.status:
                out["status"] = self.status
            if self.entry.raw.get("sources"):
                out["sources"] = [{"seed": s["seed"], "quote": s["quote"]} for s in self.entry.raw["sources"]]
            if self.entry.is_gap:
                out["gap"] = self.entry.raw["gap"].get("note")
        if self.candidates:
            out["candidates"] = self.candidates
        return out


def _entry_text(e: Entry | None) -> str:
    if e is None:
        return "rien"
    if e.value is not None:
        return e.raw["value"]
    return "lacune" if e.is_gap else "supprimé"


def state_on(timeline: Timeline, on: date, territory: str = "metropole", specialty: str | None = None) -> State:
    res = timeline.resolve(on, territory, specialty)
    if res.entry is None:
        return State("absent")
    if res.uncertain:
        return State("uncertain", entry=res.entry, candidates=[_entry_text(res.previous), _entry_text(res.entry)])
    e = res.entry
    if e.is_abolished:
        return State("abolished", entry=e)
    if e.is_gap:
        return State("gap", entry=e)
    return State("value", value=e.raw.get("value") or ("en vigueur" if e.raw.get("in_force") else "?"), entry=e)


def classify(before: State, after: State) -> str | None:
    b, a = before.state, after.state
    if b == a == "absent":
        return None
    if b == a and before.entry is not None and after.entry is not None and before.entry.index == after.entry.index:
        return None
    if a == "uncertain" and b != "uncertain":
        return "became_uncertain"
    if b == "uncertain" and a != "uncertain":
        return "became_certain"
    if b == a == "uncertain":
        return "changed" if before.candidates != after.candidates else None
    if a == "absent":
        return "disappeared"
    if a == "abolished":
        return "abolished" if b != "abolished" else "restated"
    if b == "absent":
        return "appeared"
    if a == "gap":
        return "became_gap" if b != "gap" else "restated"
    # a == "value"
    if b == "gap":
        return "gap_filled"
    if b == "abolished":
        return "appeared"
    return "changed" if before.value != after.value else "restated"


def tracks(timeline: Timeline) -> list[tuple[str, str | None]]:
    """The general track first, then each territory / specialty named by an entry."""
    out: list[tuple[str, str | None]] = [("metropole", None)]
    for e in timeline.entries:
        for t in e.territories or ():
            if (t, None) not in out:
                out.append((t, None))
        for s in e.specialties or ():
            if ("metropole", s) not in out:
                out.append(("metropole", s))
    return out


def _in_force(item: dict, on: date) -> bool | None:
    """Whether a dated requirement / limit applies on `on` (None: uncertain)."""
    start = item.get("from")
    if start is None:
        lo = hi = _MIN
    elif isinstance(start, str):
        lo = hi = date.fromisoformat(start)
    else:
        lo = date.fromisoformat(start["not_before"]) if start.get("not_before") else _MIN
        hi = date.fromisoformat(start["in_force_by"]) if start.get("in_force_by") else _MAX
    until = date.fromisoformat(item["until"]) if item.get("until") else _MAX
    if on >= until or on < lo:
        return False
    if on < hi:
        return None
    return True


def dated_key(c) -> str | None:
    """Which dated list of a concept is its timeline: `values` (acts, parameters), else a scheme's
    `in_force` periods; None for a concept without either."""
    return next((k for k in ("values", "in_force") if isinstance(c.data.get(k), list) and c.data[k]), None)


def timeline_of(c, key: str = "values") -> Timeline:
    """The concept's timeline of `values` (or of another dated list such as a scheme's `in_force`),
    or a located error when it cannot be read (run `convmed spec check`)."""
    try:
        return c.timeline if key == "values" else Timeline.from_values(c.data.get(key) or [])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ConvmedError.single(f"valeurs datées illisibles ({type(exc).__name__}: {exc}) ; lancez convmed spec check",
                                  file=str(c.path), line=c.lines.line_for("/" + key), pointer="/" + key,
                                  code="values") from None


def concept_title(c) -> str:
    d = c.data
    return d.get("code") or d.get("label") or c.id


def diff(spec, d1: date, d2: date) -> dict:
    """The changes between the state on d1 and the state on d2 (d1 < d2), as plain data."""
    if d1 >= d2:
        raise ConvmedError.single(f"--from ({d1}) doit précéder --to ({d2})", pointer="/from", code="usage")
    changes = []
    for c in sorted(spec.concepts.values(), key=lambda c: c.id):
        key = dated_key(c)
        if key is None:
            continue
        tl = timeline_of(c, key)
        general = None
        for territory, specialty in tracks(tl):
            before, after = state_on(tl, d1, territory, specialty), state_on(tl, d2, territory, specialty)
            kind = classify(before, after)
            key = (kind, before.as_dict().get("value"), after.as_dict().get("value"), before.state, after.state)
            if (territory, specialty) == ("metropole", None):
                general = key
            elif key == general:
                continue
            if kind is None:
                continue
            changes.append({
                "id": c.id,
                "kind_of_concept": c.kind,
                "code": c.data.get("code"),
                "label": c.data.get("label"),
                "territory": territory,
                "specialty": specialty,
                "change": kind,
                "before": before.as_dict(),
                "after": after.as_dict(),
            })
    requirements = []
    for c in sorted(spec.concepts.values(), key=lambda c: c.id):
        for section in RULE_SECTIONS:
            for item in c.data.get(section) or []:
                if not isinstance(item, dict) or ("from" not in item and "until" not in item):
                    continue
                b, a = _in_force(item, d1), _in_force(item, d2)
                if b == a:
                    continue
                change = "started" if a else "ended" if b else "uncertain"
                requirements.append({
                    "id": f"{c.ref}#{item.get('id')}",   # its citation (SEMANTIQUE § 7.1)
                    "concept": c.id,
                    "section": section,
                    "code": c.data.get("code"),
                    "applies_to": c.data.get("applies_to"),
                    "description": item.get("description"),
                    "change": change,
                    "from": item.get("from") if isinstance(item.get("from"), (str, type(None))) else "incertain",
                    "until": item.get("until"),
                })
    return {
        "from": d1.isoformat(),
        "to": d2.isoformat(),
        "spec_version": spec.version,
        "changes": changes,
        "requirements": requirements,
    }


def _who(ch: dict) -> str:
    name = ch.get("code") or ch["id"]
    extra = []
    if ch.get("territory") and ch["territory"] != "metropole":
        extra.append(ch["territory"])
    if ch.get("specialty"):
        extra.append(ch["specialty"])
    return name + (f" [{', '.join(extra)}]" if extra else "")


def _state_text(s: dict) -> str:
    st = s["state"]
    if st == "value":
        return s["value"]
    if st == "uncertain":
        return "incertain (" + " ou ".join(s.get("candidates", [])) + ")"
    return STATE_LABELS_FR[st]


def render_text(result: dict) -> str:
    lines = [f"Changements du {result['from']} au {result['to']} (spec {result['spec_version']})"]
    if not result["changes"] and not result["requirements"]:
        lines.append("aucun changement")
    for ch in result["changes"]:
        after = ch["after"]
        since = f" depuis {after['from']}" if after.get("from") else ""
        status = f", {after['status']}" if after.get("status") else ""
        lines.append(f"  {_who(ch):<28} {_state_text(ch['before'])} -> {_state_text(after)}{since}{status}"
                     f"  [{CHANGE_LABELS_FR[ch['change']]}]  {ch['id']}")
    for r in result["requirements"]:
        lines.append(f"  {r['id']}: {REQ_LABELS_FR.get(r['change'], r['change'])} — {r.get('description') or ''}")
    lines.append(f"{len(result['changes'])} valeur(s), {len(result['requirements'])} exigence(s) ou limite(s)")
    return "\n".join(lines)


def _md_cell(text) -> str:
    return str(text if text is not None else "").replace("|", "\\|").replace("\n", " ")


def render_markdown(result: dict, link=None) -> str:
    """Markdown tables; `link(concept_id)` may return a relative URL for the concept's page."""
    def name(ch):
        who = _md_cell(_who(ch))
        url = link(ch["id"]) if link else None
        return f"[{who}]({url})" if url else f"`{who}`"

    out = [f"Du **{result['from']}** au **{result['to']}** (spec {result['spec_version']}).", ""]
    if result["changes"]:
        out += ["| concept | libellé | avant | après | depuis | statut | changement |",
                "|---|---|---|---|---|---|---|"]
        for ch in result["changes"]:
            a = ch["after"]
            out.append(f"| {name(ch)} | {_md_cell(ch.get('label'))} | {_md_cell(_state_text(ch['before']))} | "
                       f"{_md_cell(_state_text(a))} | {_md_cell(a.get('from'))} | {_md_cell(a.get('status'))} | "
                       f"{CHANGE_LABELS_FR[ch['change']]} |")
    else:
        out.append("Aucune valeur ne change entre ces deux dates.")
    out.append("")
    if result["requirements"]:
        out += ["| exigence ou limite | changement | description |", "|---|---|---|"]
        for r in result["requirements"]:
            url = link(r["concept"]) if link else None
            rid = f"[`{r['id']}`]({url})" if url else f"`{r['id']}`"
            out.append(f"| {rid} | {REQ_LABELS_FR.get(r['change'], r['change'])} | {_md_cell(r.get('description'))} |")
        out.append("")
    return "\n".join(out)
