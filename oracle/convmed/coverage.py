"""`convmed spec coverage` and `convmed spec conflicts`: what the spec encodes of the codes the seeds name,
and every conflict recorded in the spec with both readings and the resolution."""

from __future__ import annotations

from convmed.model import Spec


def coverage(spec: Spec) -> dict:
    """Each name of spec/coverage.yaml's index: encoded (an act of that code), encoded_as (a placeholder act code
    or a spec id), gap (known, not encoded, with the reason), or missing (silently absent: an error)."""
    concept = spec.concepts.get("coverage")
    rows, missing = [], []
    listed = set()
    for item in (concept.data["index"] if concept else []):
        name = item["name"]
        listed.add(name)
        act = spec.acts_by_code.get(name)
        target = item.get("as")
        if act is not None:
            rows.append({"name": name, "section": item["section"], "status": "encoded", "concept": act.id})
        elif target and all(t in spec.acts_by_code or t.split("#")[0] in spec.concepts for t in target.split(",")):
            where = ", ".join(spec.acts_by_code[t].id if t in spec.acts_by_code else t for t in target.split(","))
            rows.append({"name": name, "section": item["section"], "status": "encoded_as", "concept": where})
        elif "gap" in item:
            rows.append({"name": name, "section": item["section"], "status": "gap", "reason": item["gap"]})
        else:
            row = {"name": name, "section": item["section"], "status": "missing",
                   "reason": "ni encodé ni répertorié comme lacune" + (f" (cible {target} introuvable)" if target else "")}
            rows.append(row)
            missing.append(name)
    extra = sorted(code for code in spec.acts_by_code if code not in listed
                   and not any(r.get("concept") == spec.acts_by_code[code].id for r in rows))
    counts = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    return {"rows": rows, "missing": missing, "encoded_not_in_index": extra, "counts": counts}


def conflicts(spec: Spec) -> list[dict]:
    """Every `conflict` node of the spec: where, the retained value, the alternatives, the resolution."""
    out = []

    def walk(node, pointer, concept):
        if isinstance(node, dict):
            if isinstance(node.get("conflict"), dict):
                c = node["conflict"]
                retained = {k: node[k] for k in ("value", "from", "description") if k in node}
                if "condition" in node:
                    retained["condition"] = node["condition"]
                out.append({"id": c["id"], "topic": c["topic"], "concept": concept.id, "pointer": pointer + "/conflict",
                            "retained": retained, "retained_sources": node.get("sources", []),
                            "alternatives": c["alternatives"], "resolution": c["resolution"]})
            for k, v in node.items():
                walk(v, f"{pointer}/{k}", concept)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{pointer}/{i}", concept)

    for concept in spec.concepts.values():
        walk(concept.data, "", concept)
    return sorted(out, key=lambda c: (c["id"], c["concept"]))
