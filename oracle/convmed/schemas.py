"""JSON Schema 2020-12 validation with located errors.

Every schema under `schemas/` is registered by its `$id`; files refer to each other
by `$id`, so a vendor can load the same folder into any 2020-12 validator.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from convmed.errors import Located, pointer_join
from convmed.paths import schemas_dir

BASE_ID = "https://schemas.convmed.invalid/v1/"


@lru_cache(maxsize=None)
def _load_all(root: str) -> dict[str, dict]:
    out = {}
    for path in sorted(Path(root).rglob("*.schema.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        out[schema["$id"]] = schema
    return out


def all_schemas() -> dict[str, dict]:
    return _load_all(str(schemas_dir()))


@lru_cache(maxsize=None)
def _registry(root: str):
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    resources = [(sid, Resource.from_contents(s, default_specification=DRAFT202012))
                 for sid, s in _load_all(root).items()]
    return Registry().with_resources(resources)


@lru_cache(maxsize=None)
def validator(name: str):
    """Validator for schema `name` (e.g. 'claim', 'spec/act'), with format checking on."""
    from jsonschema import Draft202012Validator

    root = str(schemas_dir())
    sid = BASE_ID + name + ".schema.json"
    schema = _load_all(root).get(sid)
    if schema is None:
        raise KeyError(f"no schema with $id {sid}")
    return Draft202012Validator(schema, registry=_registry(root),
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


def _best_message(error) -> tuple[list, str]:
    """Pick the deepest, most specific error of a oneOf/anyOf tree."""
    from jsonschema.exceptions import best_match

    if error.context:
        deepest = best_match(error.context)
        if deepest is not None and len(deepest.absolute_path) >= len(error.absolute_path):
            return list(deepest.absolute_path), deepest.message
    return list(error.absolute_path), error.message


def validate(instance, name: str, *, file: str | None = None, lines=None) -> list[Located]:
    """All schema errors of `instance` against schema `name`, located."""
    problems = []
    for error in sorted(validator(name).iter_errors(instance), key=lambda e: list(map(str, e.absolute_path))):
        path, message = _best_message(error)
        pointer = pointer_join(path)
        problems.append(Located(message, file=file, line=lines.line_for(pointer) if lines else None,
                                pointer=pointer, code="schema"))
    return problems
