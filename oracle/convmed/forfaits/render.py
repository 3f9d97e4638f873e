"""Text rendering of a forfait result, for people (French)."""

from __future__ import annotations

_STATUS = {"computed": "calculé", "unknown": "inconnu", "not_applicable": "sans objet", "refused": "refusé"}


def result_text(r: dict) -> str:
    out = [f"{r.get('label', r['scheme'])} — année {r['year']} (règles au {r['as_of']})",
           f"Statut : {_STATUS.get(r['status'], r['status'])}" + ("" if r["complete"] else " (incomplet)")]
    if r["status"] == "refused" or r.get("reason"):
        out.append(f"Motif : {r.get('reason')} — {r.get('message', '')}")
    if r.get("patients"):
        out.append("Patientèle : " + ", ".join(f"{k} = {v}" for k, v in r["patients"].items() if not isinstance(v, dict)))
    if r["components"]:
        out.append("")
        out.append("Composantes :")
        width = max(len(c["label"]) for c in r["components"])
        for c in r["components"]:
            # no amount: not applicable, unknown, or computed without a payment (e.g. a fee ceiling, in its message)
            amount = c["amount"] if c["amount"] is not None else ("?" if c["status"] == "unknown" else "—")
            line = f"  {c['label']:<{width}}  {amount:>12}  {_STATUS.get(c['status'], c['status'])}"
            if c.get("reason"):
                line += f" [{c['reason']}]"
            out.append(line)
            if c.get("message") and (c["status"] != "computed" or c["amount"] is None):
                out.append(f"      {c['message']}")
    out.append("")
    out.append(f"Total : {r['total']} €" + ("" if r["complete"] else " (somme des composantes connues)"))
    if r["payments"]:
        out.append("")
        out.append("Versements :")
        for p in r["payments"]:
            amount = p["amount"] if p.get("amount") is not None else "?"
            out.append(f"  {p['period']:<8} {amount:>12} €  {p['label']} ({', '.join(p.get('components', []))})")
    out.append("")
    out.append("Trace :")
    for s in r["trace"]:
        if s["step"] == "parameter":
            if "value" in s:
                src = "; ".join(f"{x['seed'][:3]} « {x['quote'][:70]} »" for x in s.get("sources", []))
                conflict = f" [conflit {s['conflict']}]" if s.get("conflict") else ""
                out.append(f"  paramètre {s['id']} = {s['value']} (depuis {s['from']}, {s['status']}){conflict} — {src}")
            else:
                out.append(f"  paramètre {s['id']} : {s.get('reason')} {s.get('note', '')}".rstrip())
        elif s["step"] == "requirement":
            out.append(f"  condition {s['id']} : {s['condition']} → {s.get('result')}")
        elif s["step"] == "scheme":
            out.append(f"  dispositif {s['id']} : en vigueur = {s.get('in_force')}"
                       + (f" (depuis {s['from']})" if s.get("from") else ""))
        elif s["step"] == "formula":
            out.append(f"  [{s['component']}] {s['text']}")
        else:
            out.append(f"  {s.get('text', s)}")
    return "\n".join(out)
