"""Bonus sobriété (médicaments), GPs, reference year N >= 2025, paid in N+1.

bonus = 1 000 € × (PMT of the doctor in the ratio / mean PMT of the GPs in scope)
for a ratio <= 3rd decile, or a ratio between the 3rd and the 6th decile that fell by more than 10 %
(signed: « baisse de plus de 10% »; draft: « au moins 10% », conflict C-16f) between N-1 and N.
The ratio, the deciles and the mean PMT are national data computed by the Assurance maladie: inputs.
Which deciles are the parameters `best_decile` (3) and `evolution_upper_decile` (6): the inputs read are
`decile_<best_decile>` and `decile_<evolution_upper_decile>`.
Reads: inputs.ratio, inputs.ratio_previous, inputs.decile_3, inputs.decile_6, inputs.pmt, inputs.mean_pmt,
inputs.patients_consulted = {previous, current}, inputs.primo_installed_n_or_n_minus_1.
"""

from __future__ import annotations

from decimal import Decimal

from convmed.money import exact_text, fraction
from convmed.forfaits.context import Component, Context, Unknown
from convmed.forfaits.registry import formula
from convmed.forfaits.schemes._partb import cents, computed, pct, unknown

P = "forfaits.sobriety_bonus."
LABEL = "Bonus sobriété"


@formula("sobriety_bonus_2024")
def sobriety_bonus(ctx: Context) -> list[Component]:
    try:
        low, high = int(ctx.param(P + "best_decile")), int(ctx.param(P + "evolution_upper_decile"))
    except Unknown as exc:
        return [unknown("bonus", LABEL, exc)]
    ratio = ctx.input_value("ratio")
    d3, d6 = ctx.input_value(f"decile_{low}"), ctx.input_value(f"decile_{high}")
    pmt, mean = ctx.input_value("pmt", kind="integer"), ctx.input_value("mean_pmt")
    if ratio < 0 or d3 < 0 or d6 < d3 or pmt < 0 or mean <= 0:
        raise ctx.bad_input(f"/inputs/decile_{high}",
                            f"need ratio >= 0, 0 <= decile_{low} <= decile_{high}, pmt >= 0 and mean_pmt > 0")
    if ctx.inputs.get("primo_installed_n_or_n_minus_1") is True:
        return [Component.not_applicable("bonus", LABEL, "Médecin primo-installé en N-1 ou N : hors du champ du ratio.")]
    consulted = ctx.input_value("patients_consulted", kind="object")
    try:
        min_pat = ctx.param(P + "min_pmt_patients_consulted")
        base = ctx.param(P + "base")
        decrease_pct = ctx.param(P + "evolution_decrease_percent")
    except Unknown as exc:
        return [unknown("bonus", LABEL, exc)]
    for k in ("previous", "current"):
        v = consulted.get(k)
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ctx.bad_input(f"/inputs/patients_consulted/{k}", "a number of patients")
        if v <= min_pat:
            return [Component.not_applicable("bonus", LABEL, f"Le médecin doit avoir été consulté par plus de {min_pat} patients de sa patientèle MT en N-1 et en N.")]
    if ratio <= d3:
        why = f"ratio {ratio} ≤ {low}e décile ({d3})"
    elif ratio <= d6:
        prev = ctx.input_value("ratio_previous", required=False)
        if prev is None:
            raise ctx.bad_input("/inputs/ratio_previous", f"between deciles {low} and {high} the ratio of N-1 is needed")
        # « baisse de plus de 10% » (strict): ratio < prev × (1 − 10 %)
        if not (prev > 0 and ratio < prev * (1 - pct(decrease_pct))):
            return [Component.not_applicable("bonus", LABEL, f"Ratio entre le {low}e et le {high}e décile sans baisse de plus de {decrease_pct} % "
                                             f"({prev} → {ratio}).")]
        why = f"ratio {ratio} entre le {low}e ({d3}) et le {high}e décile ({d6}), en baisse de plus de {decrease_pct} % ({prev} → {ratio})"
        if ratio == d6:
            return [Component("bonus", LABEL, None, "unknown", "VALUE_GAP",
                              f"Ratio égal au {high}e décile : les sources ne disent pas si la borne est incluse (lacune G-37).", {"ratio": ratio})]
    else:
        return [Component.not_applicable("bonus", LABEL, f"Ratio {ratio} au-dessus du {high}e décile ({d6}).")]
    coef = fraction(pmt) / fraction(mean)    # exact: a coefficient such as 12/11 is kept as a fraction
    amount = cents(ctx, "bonus", fraction(base) * coef)
    ctx.note("bonus", f"{why} : {base} € × {pmt} / {mean}")
    return [computed("bonus", LABEL, amount, coefficient=exact_text(coef), reason_text=why)]
