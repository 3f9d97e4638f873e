"""Decision tables (spec kind `decision_table`): the cell of a patient among parameter files with a `criterion`.

A table is the `table.yaml` of a folder (e.g. spec/forfaits/fmt/socle/table.yaml) naming its rows, the parameter
files beside it. Hit policy `unique`: `convmed spec check` proves that exactly one row is true for every patient
whose facts are known (`table_problems`), so the order of the rows does not matter; a patient for whom no row is
true and one is unknown has an unknown cell.
"""

from __future__ import annotations

import itertools

from convmed.forfaits.criteria import PatientView, compile_criterion, evaluate


def table_cells(spec, prefix: str) -> list:
    """The cells of the table `prefix` (e.g. forfaits.fmt.socle), in the order of its rows."""
    table = spec.concepts.get(prefix + ".table")
    if table is None or table.kind != "decision_table":
        raise KeyError(f"{prefix}.table: no decision table")
    return [spec.concepts[f"{prefix}.{row}"] for row in table.data["rows"]]


class CellTable:
    """The cells of a decision table; classify() returns the id of the one true cell, None when no cell is true
    and one is unknown, "none" when every cell is false (a hole `spec check` refuses)."""

    def __init__(self, ctx, prefix: str):
        ctx._declared(prefix)
        self.cells = table_cells(ctx.spec, prefix)
        self.ids = [c.id for c in self.cells]
        self._crit = [(c.id, compile_criterion(c.data["criterion"])) for c in self.cells]

    def classify(self, p: PatientView) -> str | None:
        unknown = False
        for cid, crit in self._crit:
            r = crit(p)
            if r is True:
                return cid   # the only true row (the table is proved disjoint)
            if r is None:
                unknown = True
        return None if unknown else "none"


# ---------------------------------------------------------------------------------------------- spec check
class _Probe:
    """A patient given by the values of the facts a criterion reads (the attributes criteria.evaluate reads)."""

    def __init__(self, facts: dict):
        self.age_years = facts.get("age_years")
        self.age_months = facts.get("age_months")
        self.birth = None
        self.ald = facts.get("ald", ())
        self.flags = tuple(facts.get("flags", ()))
        self.seen = facts.get("seen")
        self.rec = {"sex": facts.get("sex"), "c2s": facts.get("c2s", False)}
        self.events = []


def _walk(c: dict, out: dict) -> None:
    """The facts a criterion reads and the constants it compares them with."""
    for key in ("all", "any"):
        for sub in c.get(key, ()):
            _walk(sub, out)
    if "not" in c:
        _walk(c["not"], out)
    for key in ("age_years", "age_months"):
        if key in c:
            out.setdefault(key, set()).update(v for v in c[key].values() if isinstance(v, int))
    if "has_ald" in c or "ald_any" in c:
        out.setdefault("ald", set()).update(c.get("ald_any", ()))
    for key in ("seen", "c2s"):
        if key in c:
            out.setdefault(key, set())
    if "sex" in c:
        out.setdefault("sex", set()).add(c["sex"])
    if "flag" in c:
        out.setdefault("flags", set()).add(c["flag"])
    if "events" in c:
        raise ValueError("un critère d'événements ne se vérifie pas dans une table de décision")


def value_classes(criteria: list[dict]) -> dict[str, list]:
    """Per fact read by the criteria, one representative value of each class the criteria can tell apart
    (integers: every constant, its neighbours and 0; sets: none, each constant alone, an unrelated one)."""
    read: dict[str, set] = {}
    for c in criteria:
        _walk(c, read)
    classes: dict[str, list] = {}
    if "age_years" in read and "age_months" in read:
        # one age, two units: the months carry the years' bounds too, and the years are derived (table_problems)
        read["age_months"] |= {12 * y + d for y in read.pop("age_years") for d in (-12, 0)}
    for fact, constants in read.items():
        if fact in ("age_years", "age_months"):
            points = {0} | {k + d for k in constants for d in (-1, 0, 1)}
            classes[fact] = sorted(p for p in points if p >= 0)
        elif fact in ("seen", "c2s"):
            classes[fact] = [True, False]
        elif fact == "sex":
            classes[fact] = sorted(constants) + ["autre"]
        else:   # ald, flags: a patient may have several: every combination of the constants (a few), or each
            # alone, each pair and all of them; and something else
            ks = sorted(constants, key=str)
            if len(ks) <= 6:
                combos = [tuple(c) for r in range(len(ks) + 1) for c in itertools.combinations(ks, r)]
            else:
                combos = [()] + [(k,) for k in ks] + list(itertools.combinations(ks, 2)) + [tuple(ks)]
            classes[fact] = combos + [("_autre",)]
    return classes


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
    holes, overlaps = [], {}
    for combo in itertools.product(*(classes[n] for n in names)):
        facts = dict(zip(names, combo))
        if "age_months" in facts and "age_years" not in facts:
            facts["age_years"] = facts["age_months"] // 12   # the same age in years (criteria read either)
        probe = _Probe(facts)
        true = [c for c in cells if evaluate(c.data["criterion"], probe) is True]
        described = ", ".join(f"{n} = {_show(v)}" for n, v in facts.items())
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


def _show(v) -> str:
    if isinstance(v, bool):
        return "oui" if v else "non"
    if isinstance(v, tuple):
        return "{" + ", ".join(v) + "}" if v else "aucune"
    return str(v)
