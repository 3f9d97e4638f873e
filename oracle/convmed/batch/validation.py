"""Validation of a claim in a batch: the schema and the impossible dates (`validate_claim`, what `convmed price`
checks), and its memo (`CachedValidator`: each distinct object of a claim validated once)."""

from __future__ import annotations

import json

from convmed.batch.signature import ARRAY_KEYWORDS


def validate_claim(claim) -> list[tuple[str, str]]:
    """Every problem of one claim, as (pointer, message): the schema, then impossible dates (the same
    checks as `convmed price`)."""
    from convmed.errors import ConvmedError
    from convmed.io_claims import _check_dates
    from convmed.schemas import validate

    problems = [(p.pointer or "", p.message) for p in validate(claim, "claim")]
    if problems:
        return problems
    try:
        _check_dates(claim, "<batch>", "")
    except ConvmedError as exc:
        return [(p.pointer or "", p.message) for p in exc.problems]
    return []


class CachedValidator:
    """`validate_claim` with a memory: the claim schema constrains each top-level property on its own
    (no keyword across properties), so a claim is valid iff its top-level shape is, and each of its
    objects (doctor, patient, context, lines...) is; each distinct object is validated once. When the
    schema gains a keyword across properties, every claim is validated whole."""

    _PLAIN = {"$schema", "$id", "x-convmed-version", "title", "description", "type", "required",
              "additionalProperties", "properties"}

    def __init__(self, max_entries: int = 500_000):
        from convmed.schemas import BASE_ID, all_schemas

        schema = all_schemas()[BASE_ID + "claim.schema.json"]
        self.split = set(schema) <= self._PLAIN and schema.get("additionalProperties") is False
        # arrays constrained by their length and each item on its own: each distinct item validated once
        self.arrays = {k: v for k, v in schema.get("properties", {}).items()
                       if v.get("type") == "array" and set(v) <= ARRAY_KEYWORDS and isinstance(v.get("items"), dict)}
        self.props = set(schema.get("properties", {}))
        self.required = set(schema.get("required", []))
        self.composite = {k for k, v in schema.get("properties", {}).items()
                          if v.get("type") in ("object", "array")}
        self.cache: dict[tuple[str, str], bool] = {}
        self.max_entries = max_entries

    def ok(self, claim, checked: set[tuple[str, ...]] | None = None) -> bool:
        """True when the claim is valid; False means: ask `validate_claim` for the located problems.

        `checked`: paths of leaves whose values are known valid (BatchEngine's column checks, for a row of
        the fast path). Their objects constrain only which properties are present and each property on its
        own (`Leaf.checkable`), so an object's validity does not depend on those values: they are left out of
        the memory's key (the identifiers of every claim no longer make every object new)."""
        if not self.split or not isinstance(claim, dict):
            return not validate_claim(claim)
        if not self.required <= claim.keys() or not claim.keys() <= self.props:
            return False
        shape = {}
        for key, value in claim.items():
            if key in self.composite:
                if checked and isinstance(value, dict):
                    entry = (key, "abstract", _abstract(value, (key,), checked))
                elif key in self.arrays and isinstance(value, list):
                    if not self._array_ok(key, value):
                        return False
                    continue
                else:
                    entry = (key, json.dumps(value, sort_keys=True, ensure_ascii=False))
                known = self.cache.get(entry)
                if known is None:
                    known = self._component_ok(key, value)
                    if len(self.cache) >= self.max_entries:
                        self.cache.clear()
                    self.cache[entry] = known
                if not known:
                    return False
            elif not (checked and (key,) in checked):
                shape[key] = value
        return self._shape_ok(shape, claim)

    def prepare(self) -> None:
        """Build the validators of the claim's objects and array items now (importing jsonschema takes ~0.1 s),
        e.g. while the first chunk is read."""
        for key in self.composite:
            self._item(key) if key in self.arrays else self._sub(key)

    def _sub(self, key):
        v = self._subs.get(key) if hasattr(self, "_subs") else None
        if v is None:
            from convmed.schemas import validator

            whole = validator("claim")
            self._subs = getattr(self, "_subs", {})
            v = self._subs[key] = whole.evolve(schema=whole.schema["properties"][key])
        return v

    def _array_ok(self, key: str, value: list) -> bool:
        schema = self.arrays[key]
        if not schema.get("minItems", 0) <= len(value) <= schema.get("maxItems", len(value)):
            return False
        for item in value:
            entry = (key, "item", _item_key(item))
            known = self.cache.get(entry)
            if known is None:
                known = self._item(key).is_valid(item)
                if len(self.cache) >= self.max_entries:
                    self.cache.clear()
                self.cache[entry] = known
            if not known:
                return False
        return True

    def _item(self, key):
        found = getattr(self, "_items", {}).get(key)
        if found is None:
            from convmed.schemas import validator

            whole = validator("claim")
            self._items = getattr(self, "_items", {})
            found = self._items[key] = whole.evolve(schema=whole.schema["properties"][key]["items"])
        return found

    def _component_ok(self, key, value) -> bool:
        return self._sub(key).is_valid(value)

    def _shape_ok(self, shape: dict, claim: dict) -> bool:
        for key, value in shape.items():
            entry = (key, type(value).__name__, value if isinstance(value, str) else json.dumps(value))
            known = self.cache.get(entry)
            if known is None:
                known = self.cache[entry] = self._sub(key).is_valid(value)
            if not known:
                return False
        from convmed.errors import ConvmedError
        from convmed.io_claims import _check_dates

        try:
            _check_dates(claim, "<batch>", "")
        except ConvmedError:
            return False
        return True


_SCALARS = (str, int, float, bool, type(None))


def _item_key(item):
    """A hashable key of an array item for the validity memory: the item's (key, type, value) triples when
    its values are scalars (the type keeps 1 and True apart), its canonical JSON otherwise."""
    if isinstance(item, dict) and all(isinstance(v, _SCALARS) for v in item.values()):
        return tuple(sorted((k, type(v).__name__, v) for k, v in item.items()))
    return json.dumps(item, sort_keys=True, ensure_ascii=False)


def _abstract(value, path: tuple[str, ...], checked: set[tuple[str, ...]]):
    """A hashable key of an object in which the values at `checked` paths are replaced by their type."""
    if isinstance(value, dict):
        return tuple(sorted((k, _abstract(v, path + (k,), checked)) for k, v in value.items()))
    if path in checked and not isinstance(value, (dict, list)):
        return ("\u2713", type(value).__name__)
    return json.dumps(value, sort_keys=True, ensure_ascii=False)
