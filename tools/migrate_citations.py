"""Rewrite citations of spec elements to their stable form (spec/SEMANTIQUE.md § 7.1), run once (issue 20).

    python tools/migrate_citations.py FILE... [--dry-run]

Old forms, new forms:
  acts.consultations.G                 -> G                      (an act by its code)
  acts.consultations.G#sector          -> G#sector
  acts.consultations.G#values/1        -> G#values/2024-12-22    (a dated value by its start, never its position)
  forfaits.fmt.x#values/0              -> forfaits.fmt.x#values/2026-01-01
Only tokens whose concept exists in the spec are rewritten; the files are edited as text (layout kept).
A token `acts.<folder>.<CODE>` that is a path (followed by `/` or `.yaml`/`.md`) is left alone.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

from convmed.model import load_spec
from convmed.timeline import value_key

TOKEN = re.compile(r"(?<![\w/.-])((?:acts|rules|forfaits|parameters|vocabulary)\.[A-Za-z0-9_.]+?)"
                   r"(#values/(\d+)|#[A-Za-z0-9_]+(?:/[A-Za-z0-9_]+)*)?(?=[^\w./-]|$)")


def rewrite(text: str, spec) -> tuple[str, int]:
    count = 0

    def one(m: re.Match) -> str:
        nonlocal count
        head, frag, index = m.group(1), m.group(2) or "", m.group(3)
        concept = spec.concepts.get(head)
        if concept is None:
            return m.group(0)
        new_head = concept.ref
        if index is not None:
            values = concept.data.get("values") or []
            if int(index) >= len(values):
                raise SystemExit(f"{m.group(0)}: no values entry {index}")
            frag = f"#values/{value_key(values[int(index)])}"
        new = new_head + frag
        if new != m.group(0):
            count += 1
        return new

    return TOKEN.sub(one, text), count


def main(argv: list[str]) -> int:
    dry = "--dry-run" in argv
    spec = load_spec()
    total = 0
    for name in (a for a in argv if a != "--dry-run"):
        path = Path(name)
        text = path.read_text(encoding="utf-8")
        new, n = rewrite(text, spec)
        total += n
        print(f"{path}: {n} citation(s)")
        if n and not dry:
            path.write_text(new, encoding="utf-8")
    print(f"{total} citation(s) rewritten" + (" (dry run)" if dry else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
