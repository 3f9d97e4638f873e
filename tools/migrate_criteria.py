"""Rewrite the forfait criteria of spec/ (indicators, decision-table cells) in the one rule language (issue 20).

    python tools/migrate_criteria.py          # rewrites the files in place (run once)

Before: a criteria language of its own (`age_years: {ge, le}`, `has_ald`, `ald_any`, `flag`, `seen`, `c2s`, `sex`,
`events: {type, min, window, atc_prefix, age_*_at_event}`). After: conditions `{fact, <operator>}` of
common.schema.json#/$defs/condition on the record facts of spec/vocabulary/facts.yaml, the events as the
parameterised fact `patient.events` (`where`) compared with `ge: min`. Each `criterion:` block is replaced in
place (the rest of the file is left byte for byte); the script refuses a criterion it does not know.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import yaml

SPEC = Path(__file__).resolve().parent.parent / "spec"


def bounds(fact: str, b: dict) -> dict:
    if set(b) == {"ge", "le"}:
        return {"fact": fact, "between": [b["ge"], b["le"]]}
    leaves = [{"fact": fact, op: b[op]} for op in ("gt", "ge", "lt", "le") if op in b]
    if len(leaves) != len(b):
        raise ValueError(f"bounds {b}")
    return leaves[0] if len(leaves) == 1 else {"all": leaves}


def age_filter(b: dict) -> dict:
    if set(b) == {"ge", "le"}:
        return {"between": [b["ge"], b["le"]]}
    if len(b) != 1:
        raise ValueError(f"age bounds at the event {b}")
    return dict(b)


def convert(c: dict) -> dict:
    if len(c) != 1:
        raise ValueError(f"criterion {c}")
    (key, arg), = c.items()
    if key in ("all", "any"):
        return {key: [convert(s) for s in arg]}
    if key == "not":
        return {"not": convert(arg)}
    if key == "age_years":
        return bounds("patient.age_years", arg)
    if key == "age_months":
        return bounds("patient.age_months", arg)
    if key == "sex":
        return {"fact": "patient.sex", "equals": arg}
    if key == "ald_any":
        return {"fact": "patient.ald", "intersects": list(arg)}
    if key == "has_ald":
        return {"fact": "patient.has_ald", "is": arg}
    if key == "flag":
        return {"fact": "patient.flags", "contains": arg}
    if key == "seen":
        return {"fact": "patient.seen_last_two_years", "is": arg}
    if key == "c2s":
        return {"fact": "patient.c2s", "is": arg}
    if key == "events":
        unknown = set(arg) - {"type", "min", "window", "atc_prefix", "age_years_at_event", "age_months_at_event"}
        if unknown:
            raise ValueError(f"events criterion {arg}")
        where = {"type": arg["type"]}
        for k in ("atc_prefix", "window"):
            if k in arg:
                where[k] = arg[k]
        for k, name in (("age_years_at_event", "age_years"), ("age_months_at_event", "age_months")):
            if arg.get(k):
                where[name] = age_filter(arg[k])
        return {"fact": "patient.events", "where": where, "ge": arg.get("min", 1)}
    raise ValueError(f"criterion {key!r}")


def flow(node) -> str:
    """A YAML flow form of a converted criterion (plain scalars where YAML reads them back the same)."""
    if isinstance(node, dict):
        return "{" + ", ".join(f"{k}: {flow(v)}" for k, v in node.items()) + "}"
    if isinstance(node, list):
        return "[" + ", ".join(flow(v) for v in node) + "]"
    if isinstance(node, bool):
        return "true" if node else "false"
    if isinstance(node, int):
        return str(node)
    text = str(node)
    return text if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", text) and text not in ("true", "false", "null", "yes",
                                                                                      "no", "on", "off") else json.dumps(text)


def block(node, indent: int) -> list[str]:
    """A converted criterion in block style at `indent`: one leaf per line in flow form."""
    pad = " " * indent
    if isinstance(node, dict) and len(node) == 1 and next(iter(node)) in ("all", "any"):
        (key, parts), = node.items()
        out = [f"{pad}{key}:"]
        for p in parts:
            sub = block(p, indent + 2)
            out.append(f"{pad}- {sub[0].lstrip()}")
            out.extend(sub[1:])
        return out
    if isinstance(node, dict) and len(node) == 1 and "not" in node:
        sub = block(node["not"], indent + 2)
        return [f"{pad}not:"] + sub
    return [pad + flow(node)]


def migrate(path: Path) -> bool:
    lines = path.read_text(encoding="utf-8").split("\n")
    out, i, changed = [], 0, False
    while i < len(lines):
        line = lines[i]
        m = re.match(r"^(\s*)criterion:(.*)$", line)
        if not m:
            out.append(line)
            i += 1
            continue
        indent, rest = len(m.group(1)), m.group(2).strip()
        j = i + 1
        if not rest:
            while j < len(lines) and (not lines[j].strip() or len(lines[j]) - len(lines[j].lstrip()) > indent
                                      or lines[j].lstrip().startswith("- ") and len(lines[j]) - len(lines[j].lstrip()) == indent
                                      and False):
                j += 1
        text = "\n".join(lines[i:j])
        old = yaml.safe_load(text)["criterion"]
        new = convert(old)
        if rest:   # a one-line flow criterion stays on one line
            out.append(f"{' ' * indent}criterion: {flow(new)}")
        else:
            out.append(f"{' ' * indent}criterion:")
            out.extend(block(new, indent + 2))
        reread = yaml.safe_load("\n".join(out[-(1 + (0 if rest else len(block(new, indent + 2)))):]))
        if reread["criterion"] != new:
            raise ValueError(f"{path}: the rewritten criterion does not read back")
        changed = True
        i = j
    if changed:
        path.write_text("\n".join(out), encoding="utf-8")
    return changed


def main() -> int:
    n = 0
    for path in sorted(SPEC.rglob("*.yaml")):
        if "criterion:" in path.read_text(encoding="utf-8"):
            n += migrate(path)
    print(f"{n} file(s) rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
