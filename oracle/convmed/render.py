"""Human-readable renderings of oracle results (French)."""

from __future__ import annotations

_STATUS = {"priced": "tarifé", "refused": "refusé", "unknown": "inconnu"}


def result_text(result: dict) -> str:
    out = [f"Demande du {result['date']} ({result['territory']}) — spec {result['convmed']['spec_version']}"]
    for line in result["lines"]:
        head = f"  [{line['index']}] {line['code']:<8} {_STATUS[line['status']]:<8}"
        if line["status"] == "priced":
            head += f" {line['amount']:>9} €"
        else:
            head += f" {line['reason']} — {line['message']}"
        out.append(head)
        for step in line["trace"]:
            mark = {"pass": "✓", "fail": "✗", "unknown": "?", "info": "·"}[step["outcome"]]
            out.append(f"        {mark} {step['step']:<11} {step['rule']}: {step['detail']}")
            for src in step.get("sources", [])[:2]:
                if "seed" not in src:  # source externe (surcouche) : référence, date, fiabilité
                    out.append(f"            source externe {src.get('reference', '?')} ({src.get('date', '?')}, "
                               f"{src.get('reliability', '?')})")
                    continue
                out.append(f"            source {src['seed']} › {' › '.join(src['path'])} : « {src['quote']} »")
    total = f"Total : {result['total']} €"
    if not result["complete"]:
        total += " (incomplet : au moins une ligne a un montant inconnu)"
    out.append(total)
    return "\n".join(out)
