"""Participation de l'Assurance maladie aux cotisations sociales des médecins de secteur 1 (004).

assiette = revenus conventionnés × taux d'honoraires sans dépassement
           (taux = (honoraires conventionnés − dépassements) / honoraires conventionnés)
maladie-maternité-décès: participation = cotisation − 0,1 % × assiette (reste à charge 0,1 %)
allocations familiales: 100 / 75 / 60 % de la cotisation (revenus < 140 %, 140-250 %, > 250 % du PASS)
vieillesse de base: 2,15 / 1,51 / 1,12 % du revenu (mêmes tranches)
PCV: deux tiers des cotisations forfaitaire et d'ajustement
Contribution rates and the PASS are not in the seeds: the caller gives the contributions due and the PASS.
A revenue exactly at 140 % or 250 % of the PASS falls on a boundary the seeds do not assign (gap G-25).
Reads: inputs.conventioned_revenue, inputs.fees_total, inputs.overbilling, inputs.pass,
inputs.contributions = {health, family, pcv} (each optional: only the given risks are computed).
"""

from __future__ import annotations

from decimal import Decimal

from convmed.forfaits.context import Component, Context, Unknown
from convmed.forfaits.registry import formula
from convmed.forfaits.schemes._partb import cents, computed, pct, unknown
from convmed.money import exact_text, fraction, parse_decimal

P = "forfaits.social_contributions."


def _band(ctx: Context, revenue: Decimal, pass_: Decimal) -> str | None:
    lo = ctx.param(P + "band_low_max_pass_percent")
    hi = ctx.param(P + "band_high_min_pass_percent")
    r = revenue * 100
    if r < lo * pass_:
        return "low"
    if r == lo * pass_ or r == hi * pass_:
        return None
    return "mid" if r < hi * pass_ else "high"


def _structures(ctx: Context, base):
    """Revenues of non-salaried activity in structures whose funding includes the doctors' pay join the base
    when billed at opposable tariffs and when the liberal fees without overbilling are more than 15 % of the
    fees without overbilling (liberal + structure)."""
    if "structure" not in ctx.inputs:
        return base
    st = ctx.input_value("structure", kind="object")
    vals = {}
    for k in ("revenue", "liberal_fees", "structure_fees"):
        try:
            vals[k] = parse_decimal(st.get(k))
        except ValueError as exc:
            raise ctx.bad_input(f"/inputs/structure/{k}", str(exc)) from None
        if vals[k] < 0:
            raise ctx.bad_input(f"/inputs/structure/{k}", "must not be negative")
    if st.get("opposable_tariffs") is not True:
        ctx.note("assiette", "revenus en structure non retenus : activité non rémunérée sur la base des tarifs opposables")
        return base
    threshold = ctx.param(P + "structure_min_share_percent")
    total = vals["liberal_fees"] + vals["structure_fees"]
    if total == 0 or vals["liberal_fees"] * 100 <= threshold * total:
        ctx.note("assiette", f"revenus en structure non retenus : part libérale ≤ {threshold} %")
        return base
    ctx.note("assiette", f"part libérale > {threshold} % : revenus en structure ({vals['revenue']} €) ajoutés à l'assiette")
    return base + fraction(vals["revenue"])


@formula("social_contributions_s1")
def social_contributions(ctx: Context) -> list[Component]:
    revenue = ctx.input_value("conventioned_revenue")
    fees = ctx.input_value("fees_total")
    over = ctx.input_value("overbilling")
    if fees <= 0 or over < 0 or over > fees or revenue < 0:
        raise ctx.bad_input("/inputs/overbilling", "need fees_total > 0, 0 <= overbilling <= fees_total and conventioned_revenue >= 0")
    contributions = ctx.input_value("contributions", kind="object", required=False, default={})
    due = {}
    for k, v in contributions.items():
        if k not in ("health", "family", "pcv"):
            raise ctx.bad_input(f"/inputs/contributions/{k}", "contributions are health, family and pcv")
        due[k] = ctx.typed(f"/inputs/contributions/{k}", v, "decimal")
    base = fraction(revenue) * fraction(fees - over) / fraction(fees)    # exact
    ctx.note("assiette", f"assiette = {revenue} € × ({fees} − {over}) / {fees} = {exact_text(base)} €")
    out = []
    try:
        base = _structures(ctx, base)
        if "health" in due:
            rest = ctx.param(P + "health_remaining_percent")
            part = max(fraction(due["health"]) - base * fraction(pct(rest)), 0)
            ctx.note("health", f"cotisation {due['health']} € − reste à charge {rest} % de l'assiette")
            out.append(computed("health", "Maladie, maternité, décès", cents(ctx, "health", part)))
        pass_ = ctx.input_value("pass", required=False)
        if "family" in due or pass_ is not None:
            if pass_ is None or pass_ <= 0:
                raise ctx.bad_input("/inputs/pass", "the PASS (plafond annuel de la sécurité sociale) of the year is needed for the revenue bands")
            band = _band(ctx, revenue, pass_)
            if band is None:
                msg = "Revenu exactement à 140 % ou 250 % du PASS : tranche non attribuée par les sources (lacune G-25)."
                if "family" in due:
                    out.append(Component("family", "Allocations familiales", None, "unknown", "VALUE_GAP", msg))
                out.append(Component("pension", "Vieillesse, régime de base", None, "unknown", "VALUE_GAP", msg))
            else:
                ctx.note("bands", f"revenu {revenue} € pour un PASS de {pass_} € : tranche {band}")
                if "family" in due:
                    share = ctx.param(P + f"family.{band}_percent")
                    out.append(computed("family", "Allocations familiales", cents(ctx, "family", due["family"] * pct(share)), band=band))
                rate = ctx.param(P + f"pension.{band}_percent")
                out.append(computed("pension", "Vieillesse, régime de base", cents(ctx, "pension", revenue * pct(rate)), band=band))
        if "pcv" in due:
            num, den = ctx.param(P + "pcv.numerator"), ctx.param(P + "pcv.denominator")
            out.append(computed("pcv", "Prestation complémentaire vieillesse",
                                cents(ctx, "pcv", fraction(due["pcv"]) * fraction(num) / fraction(den))))
    except Unknown as exc:
        out.append(unknown("participation", "Participation aux cotisations", exc))
    if not out:
        raise ctx.bad_input("/inputs/contributions", "give at least one contribution (health, family, pcv) or the PASS")
    return out
