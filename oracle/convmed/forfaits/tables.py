"""Decision tables (spec kind `decision_table`): the cell of a patient among parameter files with a `criterion`.

A table is the `table.yaml` of a folder (e.g. spec/forfaits/fmt/socle/table.yaml) naming its rows, the parameter
files beside it. Hit policy `unique`: `convmed spec check` proves that exactly one row is true for every patient
whose facts are known (`table_problems`), so the order of the rows does not matter; a patient for whom no row is
true and one is unknown has an unknown cell.
"""

from __future__ import annotations

import itertools
from datetime import date

from convmed.conditions import facts_used, predicate
from convmed.facts import MissingFact, shift_months
from convmed.forfaits.facts import PatientFacts
from convmed.operators import of


def table_cells(spec, prefix: str) -> list:
    """The cells of the table `prefix` (e.g. forfaits.fmt.socle), in the order of its rows."""
    table = spec.concepts.get(prefix + ".table")
    if table is None or table.kind != "decision_table":
        raise KeyError(f"{prefix}.table: no decision table")
    return [spec.concepts[f"{prefix}.{row}"] for row in table.data["rows"]]


class CellTable:
    """The cells of a decision table; classify() returns the id of the one true cell, None when no cell is true
    and one is unknown, "none" when every cell is false (a hole `spec check` refuses). A cell's `criterion` is a
    condition of the rule language on the facts of a patient record (convmed.conditions, convmed.forfaits.facts)."""

    def __init__(self, ctx, prefix: str):
        ctx._declared(prefix)
        self.cells = table_cells(ctx.spec, prefix)
        self.ids = [c.id for c in self.cells]
        self._crit = [(c.id, predicate(c.data["criterion"])) for c in self.cells]

    def classify(self, p: PatientFacts) -> str | None:
        unknown = False
        for cid, crit in self._crit:
            r = crit(p)
            if r is True:
                return cid   # the only true row (the table is proved disjoint)
            if r is None:
                unknown = True
        return None if unknown else "none"


# ---------------------------------------------------------------------------------------------- spec check
_PROBE_DATE = date(2026, 12, 31)
MAX_SET_VALUES = 10   # the values of one set field the cells cite: all 2^10 combinations are probed   # any reference date: the probes are built at it


def _leaves(c: dict):
    for key in ("all", "any"):
        for sub in c.get(key, ()):
            yield from _leaves(sub)
    if "not" in c:
        yield from _leaves(c["not"])
    if "fact" in c:
        yield c


def value_classes(criteria: list[dict]) -> dict[str, list]:
    """Per field of a patient record that the criteria's facts are read from, one representative value of each
    class the criteria can tell apart (from the operators' critical integers and strings, convmed.operators):
    ages (as a birth date: one age read in years and in months), each constant, its neighbours and 0; sets
    (ALDs, flags): every combination of the constants (at most MAX_SET_VALUES of them) and one unrelated value;
    booleans both values."""
    months: set[int] = {0}
    sets: dict[str, set] = {}
    flags: dict[str, None] = {}
    for c in criteria:
        for leaf in _leaves(c):
            name = leaf["fact"]
            if "where" in leaf:
                raise ValueError(f"une condition sur le fait paramétré {name} ne se vérifie pas dans une table de "
                                 "décision")
            op, operand = of(leaf)
            if name == "patient.age_years":
                months |= {12 * (k + d) for k in op.critical(operand) for d in (-1, 0, 1)}
            elif name == "patient.age_months":
                months |= {k + d for k in op.critical(operand) for d in (-1, 0, 1)}
            elif name in ("patient.ald", "patient.has_ald"):
                sets.setdefault("ald", set()).update(op.terms(operand) if name == "patient.ald" else ())
            elif name == "patient.flags":
                sets.setdefault("flags", set()).update(op.terms(operand))
            elif name in _BOOLEAN_FIELDS:
                flags[_BOOLEAN_FIELDS[name]] = None
            elif name == "patient.sex":
                flags["sex"] = None
            else:
                raise ValueError(f"le fait {name} n'a pas de classes de valeurs pour une table de décision")
    classes: dict[str, list] = {"birth_date": [shift_months(_PROBE_DATE, months=m).isoformat()
                                               for m in sorted(m for m in months if m >= 0)]}
    for field, constants in sets.items():
        ks = sorted(constants, key=str)
        other = next(v for v in range(1, 33) if v not in constants) if field == "ald" else "_autre"
        if len(ks) > MAX_SET_VALUES:   # every subset is a class: beyond this, no exhaustive proof
            raise ValueError(f"les cases citent {len(ks)} valeurs de {field} : au-delà de {MAX_SET_VALUES}, la "
                             "preuve sur toutes leurs combinaisons n'est pas faite (scinder le tableau)")
        combos = [list(c) for r in range(len(ks) + 1) for c in itertools.combinations(ks, r)]
        classes[field] = combos + [[other]]
    for field in flags:
        classes[field] = ["F", "M"] if field == "sex" else [True, False]
    return classes


_BOOLEAN_FIELDS = {"patient.seen_last_two_years": "seen_last_two_years", "patient.c2s": "c2s"}


def table_problems(spec, table) -> list[tuple[str, str]]:
    """(pointer, message) for each defect of a decision table: a row that is not a cell of its folder, a cell of
    the folder that is not a row, and, over every combination of the facts' value classes, a patient no row
    covers (a hole) or two rows cover (an overlap)."""
    prefix = table.id.rsplit(".", 1)[0]
    problems: list[tuple[str, str]] = []
    cells = []
    for i, row in enumerate(table.data["rows"]):
        cell = spec.concepts.get(f"{prefix}.{row}")
        if cell is None or cell.kind != "parameter" or "criterion" not in cell.data:
            problems.append((f"/rows/{i}", f"la ligne {row!r} n'est pas une case (paramètre avec `criterion`) du "
                                           f"dossier {prefix.replace('.', '/')}"))
        else:
            cells.append(cell)
    rows = set(table.data["rows"])
    for cid, c in sorted(spec.concepts.items()):
        if cid.startswith(prefix + ".") and c.kind == "parameter" and "criterion" in c.data \
                and cid.rsplit(".", 1)[1] not in rows:
            problems.append(("/rows", f"la case {cid.rsplit('.', 1)[1]!r} du dossier n'est pas une ligne du tableau"))
    if problems or not cells:
        return problems
    try:
        classes = value_classes([c.data["criterion"] for c in cells])
    except ValueError as exc:
        return [("/rows", str(exc))]
    names = sorted(classes)
    read = sorted(set().union(*(facts_used(c.data["criterion"]) for c in cells)))
    preds = [(c, predicate(c.data["criterion"])) for c in cells]
    holes, overlaps = [], {}
    for combo in itertools.product(*(classes[n] for n in names)):
        probe = PatientFacts(dict(zip(names, combo)), _PROBE_DATE)
        true = [c for c, pred in preds if pred(probe) is True]
        described = ", ".join(f"{n} = {_show(_value(probe, n))}" for n in read)
        if not true:
            holes.append(described)
        elif len(true) > 1:
            pair = tuple(c.id.rsplit(".", 1)[1] for c in true[:2])
            overlaps.setdefault(pair, described)
    for n, described in enumerate(holes[:5], 1):
        more = f" (et {len(holes) - 5} autre(s) combinaison(s))" if n == 5 and len(holes) > 5 else ""
        problems.append(("/rows", f"trou : aucune case ne couvre le patient {described}{more}"))
    for (a, b), described in overlaps.items():
        problems.append(("/rows", f"recouvrement : les cases {a!r} et {b!r} couvrent toutes deux le patient {described}"))
    return problems


def _value(probe: PatientFacts, name: str):
    try:
        return probe.get(name)
    except MissingFact:
        return None


def _show(v) -> str:
    if isinstance(v, bool):
        return "oui" if v else "non"
    if isinstance(v, (tuple, list)):
        return "{" + ", ".join(map(str, v)) + "}" if v else "aucune"
    return str(v)
