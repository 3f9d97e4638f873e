"""The spec loaded in memory: concepts by id, acts indexed by code, rules by code.

Loading reads YAML and builds indexes once; it does not validate schemas (that is
`convmed spec check`), but every structural surprise becomes a located error.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from convmed.errors import ConvmedError, Located
from convmed.timeline import Timeline
from convmed.yamlio import LineMap, load_yaml, load_yaml_bytes, read_yaml_bytes

# The sections of an act or a rule that decide whether a line may be billed, in the order of the line stages
# (spec/SEMANTIQUE.md § 3): each item has an `id`, cited as <concept id>#<item id>.
RULE_SECTIONS = ("requirements", "base", "non_cumul", "limits")

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
            # an act's general entries are the métropole tariffs (SEMANTIQUE.md § 3.7 b); a forfait parameter's apply
            # everywhere, its territorial variants being entries of their own
            default = "metropole" if self.kind == "act" else "national"
            scope = (self.data.get("territorial_scope") or {}).get("scope", default)
            self._timeline = Timeline.from_values(self.data.get("values", []), national=scope == "national")
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


class _ParseCache:
    """Parsed spec files kept between runs, keyed by the BLAKE2 digest of each file's bytes (so an edited
    file is always parsed again, whatever its timestamps): a cold `convmed price` then skips parsing 500
    YAML files. One pickle per spec directory in $CONVMED_CACHE_DIR, else $XDG_CACHE_HOME/convmed, else
    ~/.cache/convmed; written only by convmed itself; CONVMED_NO_CACHE=1 turns it off. Any problem reading
    or writing it is ignored: the cache only ever saves time. Errors are never cached."""

    def __init__(self, root: Path):
        from convmed import __version__

        self.entries: dict[bytes, tuple] = {}
        self.used: dict[bytes, tuple] = {}  # what this load read: what the next save keeps
        self.file = None
        if os.environ.get("CONVMED_NO_CACHE") == "1":
            return
        base = os.environ.get("CONVMED_CACHE_DIR") or os.path.join(
            os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "convmed")
        tag = hashlib.blake2b(f"{__version__}|{root}".encode(), digest_size=12).hexdigest()
        self.file = Path(base) / f"spec-{tag}.pickle"
        try:
            with open(self.file, "rb") as fh:
                loaded = pickle.load(fh)
            if isinstance(loaded, dict):
                self.entries = loaded
        except Exception:  # noqa: BLE001 - absent, unreadable or stale: parse again
            self.entries = {}

    def read(self, path: Path) -> tuple:
        if self.file is None:
            return load_yaml(path)
        raw = read_yaml_bytes(path)  # the size bound and the located I/O errors of load_yaml
        key = hashlib.blake2b(raw, digest_size=16).digest()
        hit = self.entries.get(key)
        if hit is None:
            hit = load_yaml_bytes(raw, str(path))  # parsed from the bytes already read
        self.used[key] = hit
        return hit

    def save(self) -> None:
        if self.file is None or self.used.keys() == self.entries.keys():  # nothing parsed, nothing stale
            return
        tmp = None
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.file.parent, prefix=".spec-")
            with os.fdopen(fd, "wb") as fh:
                pickle.dump(self.used, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, self.file)
        except Exception:  # noqa: BLE001 - read-only home, full disk...: no cache, same result
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)


def read_concept(root: Path, path: Path, cache: _ParseCache | None = None) -> Concept:
    data, lines = cache.read(path) if cache is not None else load_yaml(path)
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
    cache = _ParseCache(root.resolve())
    for path in spec_files(root):
        try:
            concepts.append(read_concept(root, path, cache))
        except ConvmedError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ConvmedError(problems)
    cache.save()
    return build(root, concepts)


@lru_cache(maxsize=4)
def _cached(root: str) -> Spec:
    return load_spec_uncached(Path(root))


def load_spec(root: Path | None = None) -> Spec:
    from convmed.paths import spec_dir

    return _cached(str((root or spec_dir()).resolve()))
