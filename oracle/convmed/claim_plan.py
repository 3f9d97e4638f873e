"""The structure of a claim, before any line is evaluated (spec/SEMANTIQUE.md, § 2 « Structure de la demande »).

Pure functions of the claim and the spec: what each line is (its act, or the external-base rule), which
lines it depends on — its base act (`base`, or `modifies` for a modifier), the lines it yields to in a
non-cumul (`non_cumul`, `yields: self` declared on it or `yields: other` declared on the other line), the
lines it cannot be billed with at all (`yields: both`) — and the order in which the lines are evaluated:
a line after every line it depends on, otherwise by index (Kahn's algorithm, smallest index first).

Dependencies are structural: they are decided by the codes and the categories of the lines and by the
claim's own `base_line` / `modifies`, never by another line's outcome, so the order cannot depend on an
evaluation. `convmed spec check` refuses a spec whose code-level dependency graph has a cycle
(`code_graph_cycles`); a cycle the claim itself makes (`base_line` / `modifies` pointing at each other) is
reported in `ClaimPlan.cycles` and its lines are refused.
"""

from __future__ import annotations

import heapq
import re
from dataclasses import dataclass
from datetime import date

# The external-base rule (SEMANTIQUE.md § 3.1): a code the spec does not define, written as a CCAM code
# (four letters and three digits), is priced at a base tariff the user supplies (overlay or line.base_amount).
CCAM_CODE = re.compile(r"[A-Z]{4}[0-9]{3}")
EXTERNAL_CATEGORY = "acte_technique"
DEPASSEMENT_PRICING = ("percent_cap", "declared")


@dataclass(frozen=True)
class Relation:
    """One non-cumul between this line and another line of the claim."""
    owner: object           # the concept (act or rule) that declares it
    item: dict              # the `non_cumul` declaration
    other: int              # index of the other line
    direction: str          # "yields": this line yields to the other; "both": neither may be billed with the other

    @property
    def rule_id(self) -> str:
        return f"{self.owner.ref}#{self.item['id']}"


@dataclass(frozen=True)
class Binding:
    """The base act a line depends on, for one base declaration (or `modifies` for a modifier)."""
    owner: object | None    # the concept declaring it (None for `modifies`)
    item: dict | None       # the `base` declaration (None for `modifies`)
    target: int | None      # index of the base line, None when the claim has none
    explicit: bool          # chosen by the claim (`base_line`, `modifies`) rather than by the first candidate

    @property
    def rule_id(self) -> str:
        return f"{self.owner.ref}#{self.item['id']}" if self.owner is not None else "line.modifies"


@dataclass(frozen=True)
class LinePlan:
    index: int
    code: str
    concept: object | None          # the act of the code, None when the spec does not define it
    external: bool                  # priced by the external-base rule (a CCAM code outside the spec)
    category: str | None
    bindings: tuple[Binding, ...]   # one per base declaration of the act (and `modifies`)
    relations: tuple[Relation, ...]
    depends_on: frozenset[int]


@dataclass(frozen=True)
class ClaimPlan:
    claim: dict
    on: date
    territory: str
    specialty: str | None
    lines: tuple[LinePlan, ...]
    order: tuple[int, ...]
    cycles: frozenset[int]          # lines in a dependency cycle made by the claim (refused)


def category_of(spec, code: str) -> str | None:
    concept = spec.acts_by_code.get(code)
    if concept is not None:
        return concept.data["category"]
    return EXTERNAL_CATEGORY if CCAM_CODE.fullmatch(code) else None


def is_candidate(item: dict, code: str, category: str | None) -> bool:
    """Whether a line of `code` / `category` can be the base act of a `base` declaration."""
    return code in item.get("codes", ()) or (category is not None and category in item.get("categories", ()))


def declarations(spec, concept, key: str) -> list[tuple[object, dict]]:
    """The concept's own `key` items (requirements, base, non_cumul, limits), then those of the rules naming
    its code, rules in id order (SEMANTIQUE.md § 2.2). Memoised on the spec (a pure function of it)."""
    if concept is None:
        return []
    memo = spec.__dict__.setdefault("_declarations", {})
    found = memo.get((concept.id, key))
    if found is None:
        found = [(concept, item) for item in concept.data.get(key, [])]
        for rule in sorted(spec.rules_by_code.get(concept.data["code"], []), key=lambda r: r.id):
            found += [(rule, item) for item in rule.data.get(key, [])]
        memo[(concept.id, key)] = found
    return found


def _code_info(spec, code: str) -> tuple:
    """(act or None, category, the act's base declarations, its non-cumul entries) of a code, memoised on the spec."""
    memo = spec.__dict__.setdefault("_code_info", {})
    found = memo.get(code)
    if found is None:
        concept = spec.acts_by_code.get(code)
        found = (concept, category_of(spec, code), tuple(declarations(spec, concept, "base")),
                 tuple(non_cumul_index(spec).get(code, ())))
        if len(memo) < 100_000:
            memo[code] = found
    return found


class NonCumulIndex(dict):
    """code -> [(owner, item, direction, codes of the other side)]: first the declarations of the code itself (its
    act file, then the rules naming it, by id: SEMANTIQUE § 2.2), `own[code]` of them; then those of other codes
    that make it yield (`yields: other`) or bind it (`both`), in the same order of their declaring codes."""

    def __init__(self):
        super().__init__()
        self.own: dict[str, int] = {}


def non_cumul_index(spec, yields_of=None) -> NonCumulIndex:
    """The non-cumul declarations in which a line of each code can lose or be excluded (NonCumulIndex). Built
    once per spec (memoised on it). `yields_of` (item -> the `yields` to read) exists for the semantic mutants of
    convmed.conformance.mutants only."""
    found = getattr(spec, "_non_cumul_index", None)
    if found is not None and yields_of is None:
        return found
    own: dict[str, list] = {}
    imposed: dict[str, list] = {}
    rules = sorted((c for c in spec.concepts.values() if c.kind == "rule"), key=lambda c: c.id)
    for concept in list(spec.acts_by_code.values()) + rules:
        mine = [concept.data["code"]] if concept.kind == "act" else list(concept.data.get("applies_to", []))
        for item in concept.data.get("non_cumul", []):
            yields = item.get("yields", "self") if yields_of is None else yields_of(item)
            for code in mine:
                if yields == "self":
                    own.setdefault(code, []).append((concept, item, "yields", tuple(item["codes"])))
                elif yields == "both":
                    own.setdefault(code, []).append((concept, item, "both", tuple(item["codes"])))
            for code in item["codes"]:
                if yields == "other":
                    imposed.setdefault(code, []).append((concept, item, "yields", tuple(mine)))
                elif yields == "both":
                    imposed.setdefault(code, []).append((concept, item, "both", tuple(mine)))
    index = NonCumulIndex()
    for code in set(own) | set(imposed):
        index[code] = own.get(code, []) + imposed.get(code, [])
        index.own[code] = len(own.get(code, []))
    if yields_of is None:
        spec._non_cumul_index = index
    return index


def plan(spec, claim: dict, index: dict | None = None) -> ClaimPlan:
    """The claim's structure. It depends only on the lines' codes and their base_line / modifies: the lines' plans and
    the order are memoised on the spec by that key (they are immutable), the claim's own fields added each time."""
    lines = claim["lines"]
    on = date.fromisoformat(claim["date"])
    key = tuple((line["code"], line.get("base_line"), line.get("modifies")) for line in lines) if index is None else None
    memo = spec.__dict__.setdefault("_plans", {})
    found = memo.get(key) if key is not None else None
    if found is None:
        found = _structure(spec, lines, index)
        if key is not None:
            if len(memo) >= 50_000:
                memo.clear()
            memo[key] = found
    plans, order, cycles = found
    return ClaimPlan(claim, on, claim.get("territory", "metropole"), claim["doctor"].get("specialty"), plans, order, cycles)


def _structure(spec, lines: list[dict], index: dict | None) -> tuple:
    codes = [line["code"] for line in lines]
    infos = [_code_info(spec, c) for c in codes]
    categories = [info[1] for info in infos]
    concepts = [info[0] for info in infos]
    plans = []
    if index is None and not any(info[2] or info[3] for info in infos) and not any(
            "modifies" in line for line in lines):
        # no line with a base act or a non-cumul: every line stands alone, evaluated by index
        plans = [LinePlan(i, codes[i], concepts[i], concepts[i] is None and CCAM_CODE.fullmatch(codes[i]) is not None,
                          categories[i], (), (), frozenset()) for i in range(len(lines))]
        return tuple(plans), tuple(range(len(lines))), frozenset()
    index = non_cumul_index(spec) if index is None else index
    for i, line in enumerate(lines):
        concept = concepts[i]
        bindings = []
        for owner, item in declarations(spec, concept, "base"):
            if "base_line" in line:
                j = line["base_line"]
                target = j if 0 <= j < len(lines) and j != i else None
                bindings.append(Binding(owner, item, target, True))
            else:
                target = next((j for j in range(len(lines))
                               if j != i and is_candidate(item, codes[j], categories[j])), None)
                bindings.append(Binding(owner, item, target, False))
        if concept is not None and concept.data.get("pricing") == "percent_of_base" and "modifies" in line:
            j = line["modifies"]
            bindings.append(Binding(None, None, j if 0 <= j < len(lines) and j != i else None, True))
        # § 3.5 order: the line's own declarations, each with the other lines by index; then, by index of the
        # other line, the declarations of that line's code that make this one yield or bind it
        entries = index.get(codes[i], ())
        n_own = getattr(index, "own", {}).get(codes[i], len(entries))
        relations = [Relation(owner, item, j, direction)
                     for owner, item, direction, others in entries[:n_own]
                     for j in range(len(lines)) if j != i and codes[j] in others]
        relations += [Relation(owner, item, j, direction)
                      for j in range(len(lines)) if j != i
                      for owner, item, direction, others in entries[n_own:] if codes[j] in others]
        depends = {b.target for b in bindings if b.target is not None}
        depends |= {r.other for r in relations if r.direction == "yields"}
        plans.append(LinePlan(i, codes[i], concept, concept is None and CCAM_CODE.fullmatch(codes[i]) is not None,
                              categories[i], tuple(bindings), tuple(relations), frozenset(depends)))
    order, cycles = evaluation_order([p.depends_on for p in plans])
    return tuple(plans), order, cycles


def priced_from_external_base(lp: LinePlan) -> bool:
    """Whether the line is priced from an external base tariff (the external-base rule, or an act of pricing
    `external_base`): the association rules rank such lines (§ 4.1)."""
    return lp.external or (lp.concept is not None and lp.concept.data.get("pricing") == "external_base")


def components(spec, lines: list[dict]) -> tuple[tuple[int, ...], ...]:
    """The components of a claim with these lines (SEMANTIQUE.md § 2.7): the classes of the lines linked by a
    base act (`base`, `base_line`, `modifies`), a non-cumul (either way), a limit of one's code counting the
    other's code, or both being priced from an external base tariff; each in index order, ordered by their
    first line. Each line has the result it would have on the claim reduced to its component (`sub_lines`).
    A pure function of the lines' codes and base_line / modifies."""
    found = plan(spec, {"date": "2000-01-01", "doctor": {}, "lines": lines})
    parent = list(range(len(lines)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def link(i: int, j: int):
        parent[root(i)] = root(j)

    codes = [lp.code for lp in found.lines]
    external = [lp.index for lp in found.lines if priced_from_external_base(lp)]
    for j in external[1:]:
        link(external[0], j)
    for lp in found.lines:
        for b in lp.bindings:
            if b.target is not None:
                link(lp.index, b.target)
        for r in lp.relations:
            link(lp.index, r.other)
        counted = {c for _, limit in declarations(spec, lp.concept, "limits") for c in limit["count_codes"]}
        for j, code in enumerate(codes):
            if j != lp.index and code in counted:
                link(lp.index, j)
    classes: dict[int, list[int]] = {}
    for i in range(len(lines)):
        classes.setdefault(root(i), []).append(i)
    return tuple(sorted((tuple(c) for c in classes.values()), key=lambda c: c[0]))


def sub_lines(lines: list[dict], component: tuple[int, ...]) -> list[dict]:
    """The lines of the claim reduced to `component` (§ 2.7): in their order, `base_line` and `modifies`
    renumbered on it; one designating no other existing line designates none (the component's size)."""
    position = {j: k for k, j in enumerate(component)}
    out = []
    for i in component:
        line = dict(lines[i])
        for name in ("base_line", "modifies"):
            j = line.get(name)
            if isinstance(j, int) and not isinstance(j, bool):
                line[name] = position.get(j, len(component)) if j != i else position[i]
        out.append(line)
    return out


def independent_lines(spec, lines: list[dict]) -> bool:
    """Whether no line of a claim with these lines reads another: every component has one line (SEMANTIQUE.md
    § 2.7). Each line is then priced as it would be on a claim of that line alone, with the same other fields."""
    return all(len(c) == 1 for c in components(spec, lines))


def depassement_bound(found: ClaimPlan, index: int) -> bool:
    """Whether a dépassement line of the claim (an act priced `percent_cap` or `declared`: DA, DE) has line
    `index` for its base act (SEMANTIQUE.md § 1.3, read by `line.tarif_opposable`)."""
    return any(lp.concept is not None and lp.concept.data.get("pricing") in DEPASSEMENT_PRICING
               and any(b.item is not None and b.target == index for b in lp.bindings)
               for lp in found.lines if lp.index != index)


def evaluation_order(depends: list[frozenset[int]]) -> tuple[tuple[int, ...], frozenset[int]]:
    """Kahn's algorithm, the smallest ready index first; lines left in a cycle come last, by index."""
    n = len(depends)
    waiting = [len(d) for d in depends]
    users: list[list[int]] = [[] for _ in range(n)]
    for i, d in enumerate(depends):
        for j in d:
            users[j].append(i)
    ready = [i for i in range(n) if waiting[i] == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for k in users[i]:
            waiting[k] -= 1
            if waiting[k] == 0:
                heapq.heappush(ready, k)
    left = [i for i in range(n) if i not in set(order)]
    return tuple(order + left), frozenset(left)


def code_graph_cycles(spec) -> list[list[str]]:
    """Cycles of the code-level dependency graph (a code -> the codes it can depend on: its base codes and the
    codes of its base categories, the codes it yields to). A claim's line graph is a subgraph of it apart from
    `base_line` / `modifies`, so a spec without such a cycle never orders a claim's lines in a circle."""
    by_category: dict[str, list[str]] = {}
    for code, concept in spec.acts_by_code.items():
        by_category.setdefault(concept.data["category"], []).append(code)
    edges: dict[str, set[str]] = {code: set() for code in spec.acts_by_code}
    for code, concept in spec.acts_by_code.items():
        for _, item in declarations(spec, concept, "base"):
            edges[code] |= set(item.get("codes", ()))
            for cat in item.get("categories", ()):
                edges[code] |= set(by_category.get(cat, ()))
        for _, item, direction, others in non_cumul_index(spec).get(code, ()):
            if direction == "yields":
                edges[code] |= set(others)
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(code: str):
        state[code] = 1
        stack.append(code)
        for nxt in sorted(edges.get(code, ())):
            if nxt not in edges:
                continue
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[code] = 2

    for code in sorted(edges):
        if code not in state:
            visit(code)
    return cycles
