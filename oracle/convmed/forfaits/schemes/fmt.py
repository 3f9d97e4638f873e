"""Forfait médecin traitant 2024 (FMT, from 1 January 2026): formula kind `fmt_2024`.

Per doctor and year n, patientèle médecin traitant at 31/12/n:
- socle = Σ_patients value of the patient's cell of the decision table forfaits.fmt.socle.table (one cell
  per patient, proved by spec check: not seen in two years -> 5 €, else the ALD / age cells);
- c2s = number of C2S patients seen in the two years × forfaits.fmt.c2s.amount;
- prevention.<indicator> = number of patients eligible and validated × 5 € (one component
  per indicator of forfaits.fmt.prevention.indicators);
- majorations on the socle only: ZIP/QPV 10 %, primo-installé 50/30/10 % by year since the
  first installation, doctor 67 or over at 31/12/n 10 %. Their cumulation is not written
  in the seeds (G-8): when more than one applies, each is computed on the socle and an
  `unknown` component `majorations_cumul` says so.
"""

from __future__ import annotations

from decimal import Decimal

from convmed.forfaits.context import Component, Context, Unknown, percent_of
from convmed.conditions import predicate
from convmed.forfaits.facts import PatientFacts
from convmed.forfaits.registry import formula
from convmed.forfaits.tables import CellTable
from convmed.money import fmt



class Indicator:
    __slots__ = ("id", "key", "label", "elig", "excl", "valid")

    def __init__(self, concept):
        d = concept.data
        self.id = concept.id
        self.key = concept.id.rsplit(".", 1)[1]
        self.label = f"Prévention {d['number']} : {d['label']}"
        self.elig = predicate(d["eligibility"]["criterion"])
        self.excl = predicate(d["exclusions"]["criterion"]) if "exclusions" in d else None
        self.valid = predicate(d["validation"]["criterion"])

    def check(self, p: PatientFacts):
        """'validated', 'eligible' (not validated), 'no', or None (unknown)."""
        e = self.elig(p)
        if e is False:
            return "no"
        if self.excl is not None:
            x = self.excl(p)
            if x is True:
                return "no"
            if x is None:
                e = None
        v = self.valid(p)
        if e is None:
            return None if v is not False else "no_or_unknown"
        if v is None:
            return None
        return "validated" if v else "eligible"


def indicators(ctx: Context) -> list[Indicator]:
    prefix = "forfaits.fmt.prevention.indicators"
    ctx._declared(prefix)
    found = [c for cid, c in ctx.spec.concepts.items() if cid.startswith(prefix + ".") and c.kind == "indicator"]
    return [Indicator(c) for c in sorted(found, key=lambda c: c.data["number"])]


class FmtCounts:
    """What `fmt_2024` keeps of a patientèle: patients per socle cell, C2S patients seen, and per prevention
    indicator the patients eligible, validated, validated but not seen, or unknown. `add` counts one
    record; the columnar engine (convmed.batch.fmt_columnar) fills the same counts by chunks."""

    def __init__(self, table: CellTable, inds: list[Indicator]):
        self.records = 0
        self.cells = {cid: 0 for cid in table.ids}
        self.unknown_socle = 0
        self.c2s_seen = 0
        self.c2s_unknown = 0
        self.prev = {i.key: {"eligible": 0, "validated": 0, "validated_not_seen": 0, "unknown": 0} for i in inds}

    def add(self, rec: dict, table: CellTable, inds: list[Indicator], ref) -> None:
        self.records += 1
        p = PatientFacts(rec, ref)
        seen = p.seen()
        cell = table.classify(p)
        if cell is None or cell == "none":
            self.unknown_socle += 1
        else:
            self.cells[cell] += 1
        if rec.get("c2s"):
            if seen is None:
                self.c2s_unknown += 1
            elif seen:
                self.c2s_seen += 1
        for ind in inds:
            r = ind.check(p)
            if r == "no" or r == "no_or_unknown":
                continue
            st = self.prev[ind.key]
            if r is None:
                st["unknown"] += 1
                continue
            st["eligible"] += 1
            if r == "validated":
                if seen is False:
                    st["validated_not_seen"] += 1
                else:
                    st["validated"] += 1


def fmt_from_counts(ctx: Context, table: CellTable, inds: list[Indicator], n: FmtCounts) -> list[Component]:
    """The components of the FMT from the counts of the patientèle (socle, C2S, prevention, majorations)."""
    ctx.patient_summary = {"records": n.records, "socle_unknown": n.unknown_socle,
                           "socle": {cid.rsplit(".", 1)[1]: c for cid, c in n.cells.items()},
                           "c2s_seen": n.c2s_seen}
    comps = [_socle(ctx, table, n.cells, n.unknown_socle)]
    comps.append(_c2s(ctx, n.c2s_seen, n.c2s_unknown))
    for ind in inds:
        comps.append(_prevention(ctx, ind, n.prev[ind.key]))
    comps.extend(_majorations(ctx, comps[0]))
    return comps


@formula("fmt_2024")
def fmt_2024(ctx: Context) -> list[Component]:
    table = CellTable(ctx, "forfaits.fmt.socle")
    inds = indicators(ctx)
    counts = FmtCounts(table, inds)
    for rec in ctx.patients():
        counts.add(rec, table, inds, ctx.reference_date)
    return fmt_from_counts(ctx, table, inds, counts)


def _socle(ctx: Context, table: CellTable, counts: dict, unknown: int) -> Component:
    label = "Partie socle (âge, ALD, patients non vus)"
    amount = Decimal(0)
    lines = {}
    try:
        for cid in table.ids:
            n = counts[cid]
            if n:
                v = ctx.param(cid)
                amount += v * n
                lines[cid.rsplit(".", 1)[1]] = {"patients": n, "unit": fmt(v), "amount": fmt(v * n)}
    except Unknown as exc:
        return Component.unknown("socle", label, exc, categories=lines)
    ctx.note("socle", "Σ patients × montant de la case (la case du patient dans le tableau : non vu, ALD ≥ 80, ALD < 80, "
                      "sans ALD ≥ 80, 75-79, 7-74, < 7 ans)", amount=fmt(amount))
    if unknown:
        return Component("socle", label, None, "unknown", "MISSING_FACT",
                         f"{unknown} patient(s) sans âge ou sans l'information « vu dans les deux ans » : case inconnue",
                         {"categories": lines, "amount_known": fmt(amount), "patients_unknown": unknown})
    return Component("socle", label, amount, details={"categories": lines})


def _c2s(ctx: Context, n: int, unknown: int) -> Component:
    label = "Majoration précarité (C2S)"
    try:
        v = ctx.param("forfaits.fmt.c2s.amount")
    except Unknown as exc:
        return Component.unknown("c2s", label, exc, patients=n)
    details = {"patients": n, "unit": fmt(v)}
    ctx.note("c2s", "patients C2S vus dans les deux ans × majoration (les patients non vus n'y ont pas droit)",
             patients=n, amount=fmt(v * n))
    if unknown:
        return Component("c2s", label, None, "unknown", "MISSING_FACT",
                         f"{unknown} patient(s) C2S sans l'information « vu dans les deux ans »",
                         {**details, "amount_known": fmt(v * n), "patients_unknown": unknown})
    return Component("c2s", label, v * n, details=details)


def _prevention(ctx: Context, ind: Indicator, st: dict) -> Component:
    cid = f"prevention.{ind.key}"
    try:
        v = ctx.param("forfaits.fmt.prevention.amount_per_indicator")
    except Unknown as exc:
        return Component.unknown(cid, ind.label, exc, **st)
    amount = v * st["validated"]
    details = {**st, "unit": fmt(v)}
    if st["unknown"]:
        return Component(cid, ind.label, None, "unknown", "MISSING_FACT",
                         f"{st['unknown']} patient(s) dont l'éligibilité ou la validation ne peut être établie "
                         "(date de naissance, sexe…)", {**details, "amount_known": fmt(amount)})
    if st["validated_not_seen"]:
        return Component(cid, ind.label, None, "unknown", "VALUE_GAP",
                         f"{st['validated_not_seen']} patient(s) « non vus » valident l'indicateur : les sources ne "
                         "disent pas s'ils comptent (lacune G-5)",
                         {**details, "amount_without_not_seen": fmt(amount),
                          "amount_with_not_seen": fmt(v * (st["validated"] + st["validated_not_seen"]))})
    return Component(cid, ind.label, amount, details=details)


def _majorations(ctx: Context, socle: Component) -> list[Component]:
    """Every component the scheme declares as `percent_of: socle` (scheme.yaml), at the rate its `applies_when`
    selects (convmed.forfaits.context.percent_of): ZIP / QPV, primo-installé, 67 ans et plus."""
    out = [percent_of(ctx, decl, socle) for decl in ctx.scheme.data.get("components", [])
           if decl.get("percent_of") == "socle"]
    applied = [c for c in out if c.status == "computed" and c.amount]
    if len(applied) > 1:
        out.append(Component("majorations_cumul", ctx.label("majorations_cumul"), None, "unknown", "VALUE_GAP",
                             "Plusieurs majorations s'appliquent ; les sources ne disent pas si elles se cumulent "
                             "(lacune G-8) : chacune est calculée sur le socle, le total les additionne",
                             {"applied": [c.id for c in applied]}))
    return out
