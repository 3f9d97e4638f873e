"""Write the condition leaf of schemas/spec/common.schema.json from the operator registry (convmed.operators).

    python tools/write_operator_schema.py          # rewrites the file in place
    python tools/write_operator_schema.py --check  # exit 1 when the file differs from the registry

Run it after adding an operator to convmed.operators.REGISTRY; tests/test_operators.py checks the file agrees.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from convmed.operators import leaf_schema

SCHEMA = Path(__file__).resolve().parent.parent / "schemas" / "spec" / "common.schema.json"


def updated(doc: dict) -> dict:
    forms = doc["$defs"]["condition"]["oneOf"]
    index = next(i for i, form in enumerate(forms) if form.get("required") == ["fact"])
    forms[index] = leaf_schema()
    return doc


def main(argv: list[str]) -> int:
    text = SCHEMA.read_text(encoding="utf-8")
    new = json.dumps(updated(json.loads(text)), indent=2, ensure_ascii=False) + "\n"
    if "--check" in argv:
        if new != text:
            print(f"{SCHEMA}: the condition leaf differs from convmed.operators (run tools/write_operator_schema.py)")
            return 1
        return 0
    SCHEMA.write_text(new, encoding="utf-8")
    print(f"{SCHEMA}: condition leaf written from {len(leaf_schema()['properties']) - 1} operators")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
