"""Partial projection: every key of `expected` must be equal in `actual`.

Objects: keys absent from `expected` are ignored. Arrays: same length, compared element
by element. Scalars: equal (money is compared as decimal strings, exactly as written:
"30.00" ≠ "30" — the result schema fixes two decimals).
"""

from __future__ import annotations

from dataclasses import dataclass

from convmed.errors import pointer_join


@dataclass(frozen=True)
class Difference:
    pointer: str
    expected: object
    actual: object
    missing: bool = False

    def render(self) -> str:
        if self.missing:
            return f"{self.pointer or '/'} : attendu {_show(self.expected)}, absent de la réponse"
        return f"{self.pointer or '/'} : attendu {_show(self.expected)}, obtenu {_show(self.actual)}"

    def as_dict(self) -> dict:
        out = {"pointer": self.pointer, "expected": self.expected}
        if self.missing:
            out["missing"] = True
        else:
            out["actual"] = self.actual
        return out


def _show(value) -> str:
    import json

    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 120 else text[:117] + "..."


def differences(expected, actual, path: list | None = None) -> list[Difference]:
    path = path or []
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [Difference(pointer_join(path), expected, actual)]
        out = []
        for key, value in expected.items():
            if key not in actual:
                out.append(Difference(pointer_join(path + [key]), value, None, missing=True))
            else:
                out.extend(differences(value, actual[key], path + [key]))
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [Difference(pointer_join(path), expected, actual)]
        if len(expected) != len(actual):
            return [Difference(pointer_join(path) + "/length", len(expected), len(actual))]
        out = []
        for i, (e, a) in enumerate(zip(expected, actual)):
            out.extend(differences(e, a, path + [i]))
        return out
    # bool is an int in Python: keep True ≠ 1
    if type(expected) is bool or type(actual) is bool:
        same = type(expected) is type(actual) and expected == actual
    else:
        same = expected == actual
    return [] if same else [Difference(pointer_join(path), expected, actual)]


def project(actual, shape):
    """The part of `actual` that `shape` (an expected projection) looks at."""
    if isinstance(shape, dict) and isinstance(actual, dict):
        return {k: project(actual[k], v) for k, v in shape.items() if k in actual}
    if isinstance(shape, list) and isinstance(actual, list) and len(shape) == len(actual):
        return [project(a, s) for a, s in zip(actual, shape)]
    return actual
