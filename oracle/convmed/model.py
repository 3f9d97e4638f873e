"""The spec loaded in memory: concepts by id, acts indexed by code, rules by code.

Loading reads YAML and builds indexes once; it does not validate schemas (that is
`convmed spec check`), but every structural surprise becomes a located error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from convmed.errors import ConvmedError, Located
from convmed.timeline import Timeline
from convmed.yamlio import LineMap, load_yaml

KIND_SCHEMAS = {
    "act": "spec/act",
    "rule": "spec/rule",
    "meta": "spec/meta",
    "vocabulary": "spec/vocabulary",
    "rounding": "spec/rounding",
    "parameter": "spec/parameter",
    "overlay": "overlay",            # spec/overlays/<name>/*.yaml : valeurs hors sources, chargées sur demande
    "coverage": "spec/coverage",     # spec/coverage.yaml : codes connus, encodés ou lacunes
    "association": "spec/association",  # règle d'association d'actes CCAM (rangs et taux)
    "scheme": "spec/scheme",         # spec/forfaits/<dispositif>/scheme.yaml : forfait, aide ou prime
    "indicator": "spec/indicator",   # spec/forfaits/<dispositif>/.../<indicateur>.yaml : indicateur patient
}


@dataclass
class Concept:
    id: str
    kind: str
    path: Path
    data: dict
    lines: LineMap
    _timeline: Timeline | None = None

    @property
    def rel(self) -> str:
        return self.id.replace(".", "/") + ".yaml"

    @property
    def timeline(self) -> Timeline:
        if self._timeline is None:
            self._timeline = Timeline.from_values(self.data.get("values", []))
        return self._timeline


@dataclass
class Spec:
    root: Path
    concepts: dict[str, Concept] = field(default_factory=dict)
    acts_by_code: dict[str, Concept] = field(default_factory=dict)
    rules_by_code: dict[str, list[Concept]] = field(default_factory=dict)

    @property
    def meta(self) -> dict:
        return self.concepts["meta"].data

    @property
    def version(self) -> str:
        return self.meta["spec_version"]

    def vocabulary(self, name: str) -> dict[str, dict]:
        concept = self.concepts.get(f"vocabulary.{name}")
        return {t["id"]: t for t in concept.data["terms"]} if concept else {}

    def of_kind(self, kind: str) -> list[Concept]:
        return [c for c in self.concepts.values() if c.kind == kind]

    def rounding(self, applies_to: str) -> Concept | None:
        for c in self.of_kind("rounding"):
            if c.data.get("applies_to") == applies_to:
                return c
        return None


def concept_id(root: Path, path: Path) -> str:
    return ".".join(path.relative_to(root).with_suffix("").parts)


def spec_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.yaml") if not any(part.startswith((".", "_")) for part in p.relative_to(root).parts))


def read_concept(root: Path, path: Path) -> Concept:
    data, lines = load_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("kind"), str):
        raise ConvmedError.single("a spec file must be a mapping with a `kind`", file=str(path), line=1, pointer="/kind",
                                  code="structure")
    return Concept(concept_id(root, path), data["kind"], path, data, lines)


def build(root: Path, concepts: list[Concept]) -> Spec:
    spec = Spec(root)
    problems: list[Located] = []
    for c in concepts:
        spec.concepts[c.id] = c
        if c.kind == "act":
            code = c.data.get("code")
            if code in spec.acts_by_code:
                other = spec.acts_by_code[code]
                problems.append(Located(f"code {code} is already defined by {other.rel}", file=str(c.path),
                                        line=c.lines.line_for("/code"), pointer="/code", code="duplicate-code"))
            else:
                spec.acts_by_code[code] = c
        elif c.kind == "rule":
            for code in c.data.get("applies_to", []):
                spec.rules_by_code.setdefault(code, []).append(c)
    if "meta" not in spec.concepts:
        problems.append(Located("spec/meta.yaml is missing", file=str(root), code="structure"))
    if problems:
        raise ConvmedError(problems)
    return spec


def load_spec_uncached(root: Path) -> Spec:
    if not root.is_dir():
        raise ConvmedError.single("spec directory not found", file=str(root), code="io")
    problems = []
    concepts = []
    for path in spec_files(root):
        try:
            concepts.append(read_concept(root, path))
        except ConvmedError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ConvmedError(problems)
    return build(root, concepts)


@lru_cache(maxsize=4)
def _cached(root: str) -> Spec:
    return load_spec_uncached(Path(root))


def load_spec(root: Path | None = None) -> Spec:
    from convmed.paths import spec_dir

    return _cached(str((root or spec_dir()).resolve()))
