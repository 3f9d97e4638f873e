"""Tables of patient-indexed parameters (a folder of parameter files with `criterion` and `rank`)."""

from __future__ import annotations

from convmed.forfaits.criteria import PatientView, compile_criterion


class CellTable:
    """The cells of a table (e.g. forfaits.fmt.socle.*), in rank order; classify() returns the
    first cell whose criterion is true, or None when an unknown fact comes first."""

    def __init__(self, ctx, prefix: str):
        ctx._declared(prefix)
        cells = [c for cid, c in ctx.spec.concepts.items()
                 if cid.startswith(prefix + ".") and c.kind == "parameter" and "criterion" in c.data]
        self.cells = sorted(cells, key=lambda c: (c.data.get("rank", 10**6), c.id))
        self.ids = [c.id for c in self.cells]
        self._crit = [(c.id, compile_criterion(c.data["criterion"])) for c in self.cells]

    def classify(self, p: PatientView) -> str | None:
        for cid, crit in self._crit:
            r = crit(p)
            if r is True:
                return cid
            if r is None:
                return None
        return "none"
