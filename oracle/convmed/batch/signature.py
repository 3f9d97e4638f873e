"""What a claim's price can depend on, derived from the spec and the claim schema.

`analyse(spec)` walks every condition tree of the concepts the per-encounter pricer reads
(acts, rules, associations, roundings) and collects:

- the facts the conditions read (and the facts a limit's `same` compares);
- every date written in those concepts (`from`, `until`, `not_before`, `in_force_by`...): two
  claim dates between the same consecutive dates see the same entries, the same requirements
  and the same limits;
- the integer bounds of the age conditions (`lt: 16`, `ge: 6`...): two ages between the same
  bounds satisfy the same comparisons;
- whether the conditions read the weekday, the public holidays or the hour.

`Relevance` narrows this per set of line codes: only the concepts the pricer consults for those codes
(their acts, the rules of `spec.rules_by_code`, the association rules for a code priced from an external
base tariff, the rounding rules) are walked, so a claim's signature keeps only the fields, dates, bounds and
compared strings those concepts can read; a fact that cannot be traced to claim fields keeps everything.

`schema_leaves()` walks `schemas/claim.schema.json` for the flat columns of a claim. Nothing
here is a hand-written list of facts: a new rule, a new fact or a new claim field is picked
up from the spec and the schema, and a derived fact's fields and reduction are declared with its
definition (convmed.facts.DERIVED). A derived fact this module does not know how to reduce turns
the reduction of dates, birth dates and times off (they then enter the signature verbatim),
which stays exact and only costs deduplication.
"""

from __future__ import annotations

import bisect
from functools import cached_property
from dataclasses import dataclass, field
from datetime import date

from convmed.facts import DERIVED
from convmed.operators import REGISTRY

# Derived facts (spec/vocabulary/facts.yaml `derived`) and how the signature decides them: declared with their
# definitions (convmed.facts.DERIVED): "verbatim" (the fields they read kept verbatim) or a class of values.
REDUCERS = {name: d.reducer for name, d in DERIVED.items()}

PRICER_KINDS = ("act", "rule", "association", "rounding")


@dataclass
class Analysis:
    facts: set[str] = field(default_factory=set)               # facts read by a condition or a `same`
    ops: dict[str, set[str]] = field(default_factory=dict)     # fact -> operators used on it
    bounds: dict[str, list[int]] = field(default_factory=dict)  # fact -> sorted critical integers
    breakpoints: list[date] = field(default_factory=list)      # every date of the pricer's concepts
    unknown_derived: set[str] = field(default_factory=set)     # derived facts with no reducer
    probed: dict[str, list[str]] = field(default_factory=dict)  # derived facts found verbatim by probing
    pointers: dict[str, str] = field(default_factory=dict)     # claim pointer -> fact
    specialty: bool = False                                    # (one code) its values depend on the specialty
    strings: dict[str, set] = field(default_factory=dict)     # fact -> the strings it is compared to

    @property
    def reduce_dates(self) -> bool:
        return not self.unknown_derived

    def uses(self, reducer: str) -> bool:
        """Whether a fact the conditions read is decided by `reducer` (age_years, hour, weekday...)."""
        return any(REDUCERS.get(f) == reducer for f in self.facts)

    def date_class(self, on: date) -> int:
        return bisect.bisect_right(self.breakpoints, on)

    def value_class(self, fact: str, value: int | None) -> int:
        if value is None:
            return -1
        return bisect.bisect_right(self.bounds.get(fact, []), value)

    def only_presence(self, pointer: str) -> bool:
        """The claim field at `pointer` matters only by its presence: no condition compares its value
        (a limit's `same` compares it between lines of one claim, which share it)."""
        fact = self.pointers.get(pointer)
        if fact is None:
            return True
        return self.ops.get(fact, set()) <= {"present", "same"}   # presence only


def _as_date(value):
    if isinstance(value, date):
        return value
    if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _walk(node, out: Analysis, dates: set[date]):
    if isinstance(node, dict):
        if "fact" in node and isinstance(node["fact"], str):
            name = node["fact"]
            out.facts.add(name)
            for op, operand in node.items():
                if op == "fact":
                    continue
                out.ops.setdefault(name, set()).add(op)
                operator = REGISTRY.get(op)   # convmed.operators: what each operator compares with
                if operator is None:
                    continue
                dates.update(operator.dates(operand))   # a date operator's day and the next
                strings = operator.strings(operand)
                if strings:
                    out.strings.setdefault(name, set()).update(strings)
                ints = operator.critical(operand) if operator.by_order else []
                if ints:
                    crit = out.bounds.setdefault(name, [])
                    for v in ints:
                        crit.extend((v, v + 1))
        if isinstance(node.get("same"), list):
            for name in node["same"]:
                if isinstance(name, str):
                    out.facts.add(name)
                    out.ops.setdefault(name, set()).add("same")
        for value in node.values():
            d = _as_date(value)
            if d is not None:
                dates.add(d)
            else:
                _walk(value, out, dates)
    elif isinstance(node, list):
        for value in node:
            d = _as_date(value)
            if d is not None:
                dates.add(d)
            else:
                _walk(value, out, dates)


def analyse(spec, probe: bool = True) -> Analysis:
    out = Analysis()
    dates: set[date] = set()
    for concept in spec.concepts.values():
        if concept.kind in PRICER_KINDS:
            _walk(concept.data, out, dates)
    out.breakpoints = sorted(d for d in dates if d not in (date.min, date.max))
    out.bounds = {k: sorted(set(v)) for k, v in out.bounds.items()}
    vocabulary = spec.vocabulary("facts")
    unknown = {name for name in out.facts if "derived" in vocabulary.get(name, {}) and name not in REDUCERS}
    if unknown and not probe:
        out.unknown_derived |= unknown
    elif unknown:
        # A derived fact this module was not told about: run its definition on generated claims and see
        # what it reads. If it reads none of the fields the signature reduces, the verbatim columns decide
        # it; otherwise dates, birth dates and times enter the signature verbatim (exact, less deduplicated).
        leaves, _ = schema_leaves()
        reduced = {"date", "time", "patient/birth_date", "patient/age_years"}
        reduced |= {"/".join(leaf.path) for leaf in leaves
                    if leaf.kind == "int" or leaf.path[-1] in ("id", "$schema") or leaf.path[-1].endswith("_id")}
        for name, reads in probe_derived(spec, sorted(unknown)).items():
            if reads and not (reads & reduced):
                out.probed[name] = sorted(reads)
            else:
                out.unknown_derived.add(name)
    for name, term in vocabulary.items():
        if "claim_pointer" in term:
            out.pointers[term["claim_pointer"]] = name
    return out


# ------------------------------------------------------------------ what one set of codes can read
# The claim fields a derived fact kept verbatim reads (convmed.facts.DERIVED; "/lines" is always in the signature).
DERIVED_READS = {name: set(d.reads) for name, d in DERIVED.items() if d.reducer == "verbatim"}
ALL = "*"   # a profile that keeps every fact (a fact the module cannot trace to claim fields)


@dataclass(frozen=True)
class Profile:
    """What the prices of the claims with one set of line codes can depend on, besides their lines, the
    presence of every field, the territory and the date (reduced to `breakpoints`)."""
    leaves: frozenset            # leaf names whose value (verbatim or reduced to classes) matters
    reducers: frozenset          # "age_years", "age_months", "hour", "weekday", "holiday"
    breakpoints: tuple           # dates of the concepts the pricer consults for these codes
    bounds: tuple                # ((fact, (critical integers...)), ...)
    strings: tuple = ()          # ((fact, frozenset of the strings it is compared to)), ...)


class Relevance:
    """Per set of line codes, the facts the pricer (convmed.pricing.Pricer) can consult: the act concepts of
    the codes, the rules of `spec.rules_by_code` for them, the association rules when a code can be priced
    from an external base tariff (a code outside the spec, or an `external_base` act), the rounding rules.
    Every fact their conditions read (requirements, limits' `when` and `same`), every date they write and the
    integer bounds they compare to; a fact that cannot be traced to claim fields keeps every field."""

    def __init__(self, spec, analysis: Analysis, leaves: list[Leaf]):
        self.spec = spec
        self.analysis = analysis
        self.leaves = leaves
        self.vocabulary = spec.vocabulary("facts")
        self._codes: dict[str, Analysis] = {}
        self._profiles: dict[tuple, Profile] = {}
        self._history: dict[tuple, bool] = {}
        self._pointer_leaves: dict[str, frozenset[str] | None] = {}   # claim pointer -> the leaves under it
        self._associations = [c for c in spec.concepts.values() if c.kind == "association"]
        self._roundings = [c for c in spec.concepts.values() if c.kind == "rounding"]

    def concepts_for(self, code: str) -> list:
        act = self.spec.acts_by_code.get(code)
        out = [act] if act is not None else []
        out += self.spec.rules_by_code.get(code, [])
        if act is None or act.data.get("pricing") == "external_base":
            out += self._associations
        out += self._roundings
        return out

    def of_code(self, code: str) -> Analysis:
        found = self._codes.get(code)
        if found is None:
            found = Analysis()
            dates: set[date] = set()
            for concept in self.concepts_for(code):
                _walk(concept.data, found, dates)
            found.breakpoints = sorted(d for d in dates if d not in (date.min, date.max))
            act = self.spec.acts_by_code.get(code)
            found.specialty = act is not None and _has_key(act.data, "specialties")
            if found.specialty:
                # Pricer._line resolves the act's values per specialty (entries restricted to `specialties`)
                fact = self.analysis.pointers.get("/doctor/specialty", "doctor.specialty")
                found.facts.add(fact)
                found.ops.setdefault(fact, set()).add("in")
                found.strings.setdefault(fact, set()).update(_strings_under(act.data, "specialties"))
            if act is not None and (_has_key(act.data, "territories") or not act.timeline.national):
                # ... and per territory (entries restricted to `territories`; an act's general entries are the
                # métropole's, SEMANTIQUE.md § 3.7 b: any other territory is a class of its own)
                fact = self.analysis.pointers.get("/territory", "territory")
                found.facts.add(fact)
                found.ops.setdefault(fact, set()).add("in")
                found.strings.setdefault(fact, set()).update(_strings_under(act.data, "territories") | {"metropole"})
            if any(_has_item(c.data, "period", "stay") for c in self.concepts_for(code)):
                # Pricer._same_period reads the claim's stay directly for a limit per stay
                found.facts.add("patient.stay_id")
            self._codes[code] = found
        return found

    def _leaves_of_pointer(self, pointer: str) -> frozenset[str] | None:
        if pointer in self._pointer_leaves:
            return self._pointer_leaves[pointer]
        if pointer == "/lines" or pointer.startswith("/lines/") or pointer.startswith("/line/"):
            found = frozenset()
        else:
            found = frozenset(leaf.name for leaf in self.leaves
                              if leaf.pointer == pointer or leaf.pointer.startswith(pointer + "/")) or None
        self._pointer_leaves[pointer] = found
        return found

    def _fact_needs(self, name: str, leaves: set, reducers: set) -> bool:
        """Adds what fact `name` reads; False when it cannot be traced (then everything is kept)."""
        a = self.analysis
        if name.startswith("other.") and name[len("other."):] in self.vocabulary:
            name = name[len("other."):]   # the same fact, of the other line of a non-cumul (SEMANTIQUE § 3.5)
        term = self.vocabulary.get(name)
        if term is None:
            return False
        reducer = REDUCERS.get(name)
        if reducer is not None and reducer != "verbatim":
            if not a.reduce_dates:
                return False
            reducers.add(reducer)
            return True
        if "derived" in term:
            if name in DERIVED_READS:
                reads = DERIVED_READS[name]
            elif name in a.probed:
                reads = {"/" + r.replace("/*", "") for r in a.probed[name]}
            else:
                return False
        else:
            reads = {term["claim_pointer"]} if "claim_pointer" in term else None
            if reads is None:
                return False
        for pointer in reads:
            found = self._leaves_of_pointer(pointer)
            if found is None:
                return False
            leaves |= found
        return True

    def profile(self, codes) -> Profile:
        key = tuple(sorted(set(codes)))
        found = self._profiles.get(key)
        if found is not None:
            return found
        leaves: set[str] = set()
        reducers: set[str] = set()
        dates: set[date] = set()
        bounds: dict[str, set[int]] = {}
        strings: dict[str, set[str]] = {}
        everything = False
        for code in key:
            need = self.of_code(code)
            dates.update(need.breakpoints)
            for fact, values in need.strings.items():
                strings.setdefault(fact, set()).update(values)
            for fact in need.facts:
                if not self._fact_needs(fact, leaves, reducers):
                    everything = True
            for fact, crit in need.bounds.items():
                bounds.setdefault(fact, set()).update(crit)
        if everything:
            found = self.profile_all()
        else:
            found = Profile(frozenset(leaves), frozenset(reducers), tuple(sorted(dates)),
                            tuple(sorted((k, tuple(sorted(v))) for k, v in bounds.items())),
                            tuple(sorted((k, frozenset(v)) for k, v in strings.items())))
        self._profiles[key] = found
        return found

    def reads_history(self, codes) -> bool:
        """Whether the prices of claims with these line codes can depend on their `history`: the pricer reads it
        only to count acts against a limit (Pricer._limits: the limits of a code's act and of the rules naming
        it); a profile that keeps every fact keeps the history too."""
        found = self._history.get(tuple(codes))
        if found is None:
            key = tuple(sorted(set(codes)))
            if len(self._history) >= 100_000:
                self._history.clear()
            found = self._history[tuple(codes)] = ALL in self.profile(key).leaves or any(
                _has_key(concept.data, "limits") for code in key for concept in self.concepts_for(code))
        return found

    def profile_all(self) -> Profile:
        """Every fact, every date and every bound of the spec (what the signature kept before relevance)."""
        a = self.analysis
        strings = {k: set(v) for k, v in a.strings.items()}
        for concept in self.spec.acts_by_code.values():
            for fact, values in self.of_code(concept.data["code"]).strings.items():
                strings.setdefault(fact, set()).update(values)
        return Profile(frozenset(leaf.name for leaf in self.leaves) | {ALL},
                       frozenset({"age_years", "age_months", "hour", "weekday", "holiday"}),
                       tuple(a.breakpoints), tuple(sorted((k, tuple(v)) for k, v in a.bounds.items())),
                       tuple(sorted((k, frozenset(v)) for k, v in strings.items())))


def leaf_check(leaf: Leaf, col):
    """The leaf's schema keywords, as a polars expression on its (non-null) column (`leaf.checkable`)."""
    import polars as pl

    ok = pl.lit(True)
    if leaf.enum is not None:
        ok = ok & col.is_in(list(leaf.enum))
    if leaf.pattern is not None:
        ok = ok & col.str.contains(leaf.pattern)
    if leaf.max_length is not None:
        ok = ok & (col.str.len_chars() <= leaf.max_length)
    if leaf.min_length is not None:
        ok = ok & (col.str.len_chars() >= leaf.min_length)
    if leaf.minimum is not None:
        ok = ok & (col >= leaf.minimum)
    if leaf.maximum is not None:
        ok = ok & (col <= leaf.maximum)
    return ok


def _strings_under(node, key: str) -> set[str]:
    """Every string of the lists under `key` anywhere in `node`."""
    out: set[str] = set()
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key and isinstance(v, list):
                out |= {x for x in v if isinstance(x, str)}
            else:
                out |= _strings_under(v, key)
    elif isinstance(node, list):
        for v in node:
            out |= _strings_under(v, key)
    return out


def _has_item(node, key: str, value) -> bool:
    if isinstance(node, dict):
        return node.get(key) == value or any(_has_item(v, key, value) for v in node.values())
    if isinstance(node, list):
        return any(_has_item(v, key, value) for v in node)
    return False


def _has_key(node, key: str) -> bool:
    if isinstance(node, dict):
        return key in node or any(_has_key(v, key) for v in node.values())
    if isinstance(node, list):
        return any(_has_key(v, key) for v in node)
    return False


# ------------------------------------------------------------------ the claim schema, flat
@dataclass(frozen=True)
class Leaf:
    path: tuple[str, ...]     # ("doctor", "counters", "snp_this_week")
    kind: str                 # "str", "bool", "int"
    enum: tuple | None = None
    max_length: int | None = None
    minimum: int | None = None
    maximum: int | None = None
    pattern: str | None = None
    min_length: int | None = None
    # every keyword of the leaf's schema is one `leaf_check` knows (and every object above it constrains
    # only which properties are present): the leaf's validity is then a function of its own value
    checkable: bool = False
    # its presence alone decides validity (listed in `required` or in a `not: {required}` of its object)
    constrained: bool = True

    @cached_property
    def name(self) -> str:
        return ".".join(self.path)

    @cached_property
    def pointer(self) -> str:
        return "/" + "/".join(self.path)


def _resolve(schema: dict, all_schemas: dict, base: str) -> dict:
    while "$ref" in schema:
        ref = schema["$ref"]
        target, _, frag = ref.partition("#")
        doc = all_schemas[base + target] if target else None
        node = doc
        for part in [p for p in frag.split("/") if p]:
            node = node[part]
        extra = {k: v for k, v in schema.items() if k != "$ref"}
        schema = {**node, **extra}
    return schema


# Keywords whose meaning `leaf_check` reproduces on a column (anything else: the leaf is never dropped
# from a signature, the representative's validation covers it).
_LEAF_KEYWORDS = {"type", "enum", "pattern", "maxLength", "minLength", "minimum", "maximum", "description",
                  "title", "default", "$comment", "examples"}
# Keywords of an object that constrain only which of its properties are present (the signature keeps the
# presence of every leaf) or its leaves one by one.
_OBJECT_KEYWORDS = {"type", "properties", "required", "additionalProperties", "description", "title", "default",
                    "$comment", "$schema", "$id", "x-convmed-version"}


def _plain_object(node: dict) -> bool:
    extra = set(node) - _OBJECT_KEYWORDS
    if extra - {"not"}:
        return False
    if "not" in node and set(node["not"]) != {"required"}:   # "not both birth_date and age_years": presence only
        return False
    return node.get("additionalProperties", False) is False


def _simple_pattern(pattern) -> bool:
    """A regular expression that means the same to polars (Rust regex) and to the schema validator (ECMA
    anchoring, convmed.schemas): anchors, classes, counted repetitions, groups and alternatives only."""
    import re

    if pattern is None:
        return True
    return bool(re.fullmatch(r"[\^$\[\]A-Za-z0-9_\-{},:()|?+*.\\]*", pattern)) and "(?" not in pattern \
        and not re.search(r"\\[^d.\-\\\[\]()]", pattern)


def schema_leaves() -> tuple[list[Leaf], list[str]]:
    """(scalar leaves of a claim, array properties at the top level) from schemas/claim.schema.json."""
    from convmed.schemas import BASE_ID, all_schemas

    schemas = all_schemas()
    claim = schemas[BASE_ID + "claim.schema.json"]
    leaves: list[Leaf] = []
    arrays: list[str] = []

    def visit(node: dict, path: tuple[str, ...], plain: bool):
        plain = plain and _plain_object(node)
        named = set(node.get("required", [])) | set((node.get("not") or {}).get("required", []))
        for key, sub in node.get("properties", {}).items():
            sub = _resolve(sub, schemas, BASE_ID)
            typ = sub.get("type")
            checkable = plain and set(sub) <= _LEAF_KEYWORDS and _simple_pattern(sub.get("pattern"))
            constrained = not plain or key in named
            if typ == "object":
                visit(sub, path + (key,), plain)
            elif typ == "array":
                if path:
                    raise ValueError(f"nested array {'.'.join(path + (key,))} in the claim schema")
                arrays.append(key)
            elif typ == "boolean":
                leaves.append(Leaf(path + (key,), "bool", checkable=checkable and "enum" not in sub,
                                   constrained=constrained))
            elif typ == "integer":
                checkable = checkable and "enum" not in sub and "pattern" not in sub
                leaves.append(Leaf(path + (key,), "int", minimum=sub.get("minimum"), maximum=sub.get("maximum"),
                                   checkable=checkable, constrained=constrained))
            else:  # strings, enums, decimals, dates
                enum = tuple(sub["enum"]) if "enum" in sub else None
                checkable = checkable and typ in (None, "string") and (enum is None or all(
                    isinstance(v, str) for v in enum))
                leaves.append(Leaf(path + (key,), "str", enum=enum, max_length=sub.get("maxLength"),
                                   pattern=sub.get("pattern"), min_length=sub.get("minLength"), checkable=checkable,
                                   constrained=constrained))

    visit(claim, (), True)
    return leaves, arrays


@dataclass(frozen=True)
class Items:
    """The items of a top-level array of the claim (`history`) when each item is a plain object (it constrains
    which of its properties are present, and each property on its own): an item is then valid iff its required
    properties are present, and each property present is one of `leaves` and valid on its own."""
    leaves: tuple[Leaf, ...]     # its string properties decided by `leaf_check` (path: (property,))
    dates: frozenset[str]        # ... of format date: also a real calendar date (as date.fromisoformat)
    required: frozenset[str]
    min_items: int
    max_items: int | None


# Keywords of an array that constrain its length and each item on its own (CachedValidator, array_items)
ARRAY_KEYWORDS = {"type", "items", "minItems", "maxItems", "description", "title"}


def array_items(name: str) -> Items | None:
    """`Items` of the claim's top-level array `name`; None when an item's validity is not a matter of its
    properties one by one (then every item goes through the validator). A property that is not a plain string
    (an object, a format other than date...) is left out of `leaves`: an item where it is present is left to the
    validator."""
    from convmed.schemas import BASE_ID, all_schemas

    schemas = all_schemas()
    node = _resolve(schemas[BASE_ID + "claim.schema.json"]["properties"][name], schemas, BASE_ID)
    if not set(node) <= ARRAY_KEYWORDS or not isinstance(node.get("items"), dict):
        return None
    items = _resolve(node["items"], schemas, BASE_ID)
    if items.get("type") != "object" or not _plain_object(items) or "not" in items:
        return None
    leaves, dates = [], set()
    for key, sub in items.get("properties", {}).items():
        sub = _resolve(sub, schemas, BASE_ID)
        is_date = sub.get("format") == "date"
        keywords = set(sub) - {"format"} if is_date else set(sub)
        if sub.get("type") != "string" or not keywords <= _LEAF_KEYWORDS or not _simple_pattern(sub.get("pattern")) \
                or not all(isinstance(v, str) for v in sub.get("enum", ())):
            continue
        leaves.append(Leaf((key,), "str", enum=tuple(sub["enum"]) if "enum" in sub else None,
                           max_length=sub.get("maxLength"), pattern=sub.get("pattern"),
                           min_length=sub.get("minLength"), checkable=True))
        if is_date:
            dates.add(key)
    return Items(tuple(leaves), frozenset(dates), frozenset(items.get("required", [])), node.get("minItems", 0),
                 node.get("maxItems"))


def line_fields() -> dict[str, str]:
    """The properties of a claim line (schemas/claim.schema.json, `lines` items) -> "str", "bool" or "int", in
    name order: the one struct layout of the `lines` column, whatever order or subset a file has."""
    from convmed.schemas import BASE_ID, all_schemas

    schemas = all_schemas()
    items = schemas[BASE_ID + "claim.schema.json"]["properties"]["lines"]["items"]
    out = {}
    for key in sorted(items.get("properties", {})):
        typ = _resolve(items["properties"][key], schemas, BASE_ID).get("type")
        out[key] = {"boolean": "bool", "integer": "int"}.get(typ, "str")
    return out


def property_types() -> dict[str, set[str]]:
    """Every property name of the claim schema (at any depth, array items included) -> its JSON types."""
    from convmed.schemas import BASE_ID, all_schemas

    schemas = all_schemas()
    out: dict[str, set[str]] = {}

    def visit(node: dict):
        node = _resolve(node, schemas, BASE_ID)
        for key, sub in node.get("properties", {}).items():
            sub = _resolve(sub, schemas, BASE_ID)
            typ = sub.get("type")
            kind = {"boolean": "bool", "integer": "int", "object": "object", "array": "array"}.get(typ, "str")
            out.setdefault(key, set()).add(kind)
            if typ == "object":
                visit(sub)
            elif typ == "array" and isinstance(sub.get("items"), dict):
                visit(sub["items"])

    visit(schemas[BASE_ID + "claim.schema.json"])
    return out


def screen_pattern() -> str:
    """A regular expression that matches a JSON text in which some property has a JSON type other than
    the schema's (or is null). Such a line goes through the scalar path, which validates it: polars'
    schema inference would otherwise coerce `1` and `"x"` into one string column."""
    import re

    alts = [r":\s*null\b"]
    for name, kinds in sorted(property_types().items()):
        if len(kinds) != 1:
            continue  # the same name with two types at two places: left to the representative's validation
        (kind,) = kinds
        key = '"' + re.escape(name) + r'"\s*:\s*'
        if kind == "str":
            alts.append(key + r'[^"\s]')
        elif kind == "bool":
            alts.append(key + r"[^tf\s]")
        elif kind == "int":
            # 19 digits or more may not fit a 64-bit column (polars would then read the column as text)
            alts.append(key + r"(?:[^\-0-9\s]|-?[0-9]+[.eE]|-?[0-9]{19})")
        elif kind == "object":
            alts.append(key + r"[^{\s]")
        elif kind == "array":
            alts.append(key + r"[^\[\s]")
    return "|".join(alts)


# ------------------------------------------------------------------ derived facts nobody told us about
class _Rec(dict):
    """A claim (or part of it) that records every key read, as a path ('patient/birth_date', 'lines/*/code')."""

    def __init__(self, data, path: str, reads: set):
        super().__init__(data)
        self._path, self._reads = path, reads

    def _wrap(self, key, value):
        path = f"{self._path}/{key}" if self._path else str(key)
        self._reads.add(path)
        if isinstance(value, dict):
            return _Rec(value, path, self._reads)
        if isinstance(value, list):
            return [(_Rec(v, path + "/*", self._reads) if isinstance(v, dict) else v) for v in value]
        return value

    def __getitem__(self, key):
        return self._wrap(key, super().__getitem__(key))

    def get(self, key, default=None):
        if key in self.keys():
            return self._wrap(key, super().__getitem__(key))
        self._reads.add(f"{self._path}/{key}" if self._path else str(key))
        return default

    def __contains__(self, key):
        self._reads.add(f"{self._path}/{key}" if self._path else str(key))
        return super().__contains__(key)

    def items(self):
        return [(k, self._wrap(k, v)) for k, v in super().items()]

    def values(self):
        return [v for _, v in self.items()]


def probe_derived(spec, names, n: int = 300) -> dict[str, set[str]]:
    """For each derived fact in `names`, the claim paths its definition (convmed.facts.Facts) reads, found by
    running it on `n` generated claims with recording dicts; 'date' when it reads the claim's date."""
    from convmed.batch.generate import generate_claims
    from convmed.facts import Facts, MissingFact

    vocab = spec.vocabulary("facts")
    categories = {c.data["code"]: c.data.get("category") for c in spec.acts_by_code.values()}

    class Probe(Facts):
        @property
        def on(self):
            self._reads.add("date")
            return self._on

        @on.setter
        def on(self, value):
            self._on = value

    out: dict[str, set[str]] = {name: set() for name in names}
    for claim in generate_claims(n, seed=4242, spec=spec, history_rate=0.0):
        for index in range(len(claim["lines"])):
            for name in names:
                reads: set[str] = set()
                probe = Probe.__new__(Probe)
                probe._reads = reads
                Facts.__init__(probe, claim, index, vocab)
                probe.categories = categories
                probe.claim = _Rec(claim, "", reads)
                probe.line = _Rec(claim["lines"][index], "lines/*", reads)
                try:
                    probe.get(name)
                except (MissingFact, KeyError, AttributeError, TypeError, ValueError):
                    pass
                out[name] |= reads
    return out
