"""Registry of named formula kinds. A scheme module registers its function with

    @formula("fmt_2024")
    def fmt(ctx: Context) -> list[Component]: ...

The modules of `convmed.forfaits.schemes` are imported on first use, so a new scheme
is one new file there (plus its spec files).
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Callable

_FORMULAS: dict[str, Callable] = {}
_LOADED = False


def formula(name: str):
    def register(fn):
        if name in _FORMULAS and _FORMULAS[name] is not fn:
            raise RuntimeError(f"formula kind {name!r} registered twice ({_FORMULAS[name].__module__}, {fn.__module__})")
        _FORMULAS[name] = fn
        return fn
    return register


def _load() -> None:
    global _LOADED
    if _LOADED:
        return
    from convmed.forfaits import schemes

    for mod in pkgutil.iter_modules(schemes.__path__):
        if not mod.name.startswith("_"):
            importlib.import_module(f"{schemes.__name__}.{mod.name}")
    _LOADED = True


def formulas() -> dict[str, Callable]:
    _load()
    return dict(_FORMULAS)


def get(name: str) -> Callable | None:
    _load()
    return _FORMULAS.get(name)
