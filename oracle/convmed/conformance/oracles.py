"""The reference oracle for each kind of case.

`claim`   → `convmed.pricing.price_claim(input) -> result`;
`forfait` → `convmed.forfaits.compute(input) -> dict`, when that module exists.
An oracle that is not available makes the case skipped with a clear reason, never a crash.
"""

from __future__ import annotations

import importlib
from typing import Callable

KINDS = {
    "claim": ("convmed.pricing", "price_claim"),
    "forfait": ("convmed.forfaits", "compute"),
}


class OracleUnavailable(Exception):
    """The oracle of a case kind cannot be imported (not built yet, or broken)."""


_cache: dict[str, Callable[[dict], dict]] = {}


def oracle_for(kind: str) -> Callable[[dict], dict]:
    if kind in _cache:
        return _cache[kind]
    if kind not in KINDS:
        raise OracleUnavailable(f"aucun oracle pour le type de cas {kind!r}")
    module_name, attr = KINDS[kind]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise OracleUnavailable(f"oracle non disponible : le module {module_name} n'existe pas encore") from None
        raise
    func = getattr(module, attr, None)
    if not callable(func):
        raise OracleUnavailable(f"oracle non disponible : {module_name}.{attr} n'existe pas")
    _cache[kind] = func
    return func


def available(kind: str) -> str | None:
    """None when the oracle of `kind` can be used, else the reason why not."""
    try:
        oracle_for(kind)
    except OracleUnavailable as exc:
        return str(exc)
    return None


def evaluate(kind: str, data: dict) -> dict:
    """The oracle's answer (raises OracleUnavailable)."""
    return oracle_for(kind)(data)
