"""The spec loaded in memory: concepts by id, acts indexed by code, rules by code.

Loading reads YAML and builds indexes once; it does not validate schemas (that is
`convmed spec check`), but every structural surprise becomes a located error.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import json
import tempfile
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
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
    "decision_table": "spec/decision_table",  # spec/forfaits/<dispositif>/<tableau>/table.yaml : cases d'un tableau
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

    @cached_property
    def ref(self) -> str:
        """How the concept is cited (spec/SEMANTIQUE.md § 7.1): an act by its code, anything else by its id."""
        if self.kind == "act" and isinstance(self.data.get("code"), str):
            return self.data["code"]
        return self.id

    @property
    def timeline(self) -> Timeline:
        if self._timeline is None:
            # an act's general entries are the métropole tariffs (SEMANTIQUE.md § 3.7 b); a forfait parameter's apply
            # everywhere, its territorial variants being entries of their own
            default = "metropole" if self.kind == "act" else "national"
            scope = (self.data.get("territorial_scope") or {}).get("scope", default)
            try:
                self._timeline = Timeline.from_values(self.data.get("values", []), national=scope == "national")
            except (ValueError, TypeError, KeyError) as exc:   # a spec file `spec check` would refuse
                values = self.data.get("values", [])
                bad = next((i for i, v in enumerate(values) if not _entry_ok(i, v)), 0)
                raise ConvmedError.single(f"valeur du spec invalide ({exc}) : lancez convmed spec check",
                                          file=str(self.path), line=self.lines.line_for(f"/values/{bad}"),
                                          pointer=f"/values/{bad}", code="spec") from None
        return self._timeline


def _entry_ok(index: int, raw) -> bool:
    from convmed.timeline import parse_entry

    try:
        parse_entry(index, raw)
        return True
    except (ValueError, TypeError, KeyError):
        return False


@dataclass
class Spec:
    root: Path
    digest: str = ""     # the content digest of the whole spec (spec_digest), which every report names
    concepts: dict[str, Concept] = field(default_factory=dict)
    acts_by_code: dict[str, Concept] = field(default_factory=dict)
    rules_by_code: dict[str, list[Concept]] = field(default_factory=dict)
    by_ref: dict[str, Concept] = field(default_factory=dict)   # concepts by citation (Concept.ref)

    @property
    def meta(self) -> dict:
        return self.concepts["meta"].data

    @property
    def version(self) -> str:
        return self.meta["spec_version"]

    def vocabulary(self, name: str) -> dict[str, dict]:
        concept = self.concepts.get(f"vocabulary.{name}")
        return {t["id"]: t for t in concept.data["terms"]} if concept else {}

    def cited(self, ref: str) -> Concept | None:
        """The concept a citation names (the part before `#`): an act's code or a concept id."""
        return self.by_ref.get(ref.partition("#")[0])

    def citation_problem(self, ref: str) -> str | None:
        """Why `ref` (spec/SEMANTIQUE.md § 7.1) designates nothing in this spec, or None when it does."""
        head, _, frag = ref.partition("#")
        concept = self.by_ref.get(head)
        if concept is None:
            if not frag and "." in head and any(other.startswith(head + ".") for other in self.concepts):
                return None   # a folder of concepts (e.g. the parameters of one forfait component)
            hint = ""
            if head in self.concepts and self.concepts[head].ref != head:
                hint = f" (un acte se cite par son code : {self.concepts[head].ref})"
            return f"citation {ref!r} : aucun élément du spec {head!r}{hint}"
        if not frag:
            return None
        if frag.startswith("values/"):
            from convmed.timeline import value_key

            key = frag.split("/", 1)[1]
            keys = [value_key(v) for v in concept.data.get("values", []) if isinstance(v, dict)]
            if key not in keys:
                return (f"citation {ref!r} : {head} n'a pas d'entrée datée {key!r} (entrées : "
                        f"{', '.join(keys) or 'aucune'})")
            return None
        ids = {item.get("id") for key in RULE_SECTIONS for item in concept.data.get(key, []) or []
               if isinstance(item, dict)}
        if frag.split("/")[0] not in ids:
            return f"citation {ref!r} : {head} n'a pas d'exigence, de base, de non-cumul ni de limite {frag!r}"
        return None

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


CACHE_FORMAT = "convmed-spec-cache/2"


class _ParseCache:
    """Parsed spec files kept between runs, so that a cold `convmed price` skips parsing 500 YAML files.

    Data only: one JSON document per spec directory (never pickle: nothing in it can run code), holding for each
    file its path, the BLAKE2 digest of its bytes, the parsed data and its line map. An entry is used only for a file
    whose bytes, read now, have that digest at that path. The document is authenticated by a keyed BLAKE2 (HMAC-like)
    of its entries, with a per-user random key kept beside it (mode 0600): a cache edited by anyone who cannot read
    that key does not verify. The cache is refused — and the files are parsed — when the cache file, its key or its
    folder is not owned by the user, is writable by others, is a symbolic link, or does not verify; it is then
    rewritten from what was parsed. `convmed spec check` rewrites it from the files it checked, so that what `price` reads is what
    `spec check` checked. `$CONVMED_CACHE_DIR`, else `$XDG_CACHE_HOME/convmed`, else `~/.cache/convmed`;
    `CONVMED_NO_CACHE=1` turns it off. Errors are never cached; a cache that cannot be written costs time only."""

    def __init__(self, root: Path, *, refresh: bool = False):
        from convmed import __version__

        self.entries: dict[str, dict] = {}
        self.used: dict[str, dict] = {}  # what this load read: what the next save keeps
        self.digests: dict[str, str] = {}  # path -> BLAKE2 of the bytes read (the spec's digest is made of them)
        self.file = None
        self.refused: str | None = None
        self.refresh = refresh
        if os.environ.get("CONVMED_NO_CACHE") == "1":
            return
        base = Path(os.environ.get("CONVMED_CACHE_DIR") or os.path.join(
            os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "convmed"))
        tag = hashlib.blake2b(f"{__version__}|{root}".encode(), digest_size=12).hexdigest()
        self.file = base / f"spec-{tag}.json"
        self.key = None
        if refresh:
            return
        self.refused = _unsafe(self.file) or _unsafe(base / "key")
        if self.refused is not None:
            return
        self.key = _read_key(base / "key")
        if self.key is None or not os.path.lexists(self.file):
            return
        try:
            from convmed.infiles import open_regular

            with open_regular(self.file) as fh:   # a FIFO planted there would block a plain open()
                raw = fh.read(64 * 1024 * 1024 + 1)
            if len(raw) > 64 * 1024 * 1024:
                raise ValueError("cache larger than 64 MiB")
            head, _, body = raw.partition(b"\n")
            header = json.loads(head)
            if not isinstance(header, dict) or header.get("format") != CACHE_FORMAT or \
                    not hmac.compare_digest(str(header.get("digest")), _digest(body, self.key)):
                raise ValueError("cache does not verify")
            entries = json.loads(body)
            if not isinstance(entries, dict):
                raise ValueError("cache entries are not an object")
            self.entries = entries
        except FileNotFoundError:
            pass
        except Exception as exc:  # noqa: BLE001 - unreadable, stale or tampered: parse again, rewrite it
            self.refused = f"cache refusé ({type(exc).__name__}: {exc})"
            self.entries = {}

    def read(self, path: Path) -> tuple:
        raw = read_yaml_bytes(path)  # the size bound and the located I/O errors of load_yaml
        key = hashlib.blake2b(raw, digest_size=16).hexdigest()
        self.digests[str(path)] = key
        if self.file is None:
            return load_yaml_bytes(raw, str(path))
        name = str(path)
        hit = self.entries.get(name)
        if isinstance(hit, dict) and hit.get("blake2") == key and isinstance(hit.get("lines"), dict):
            data, lines = hit["data"], LineMap(hit["lines"])
        else:
            data, lines = load_yaml_bytes(raw, name)  # parsed from the bytes already read
        self.used[name] = {"blake2": key, "data": data, "lines": dict(lines)}
        return data, lines

    def _writable_key(self) -> bytes | None:
        key_file = self.file.parent / "key"
        if _unsafe(key_file):
            return None
        key = _read_key(key_file)
        if key is None:
            try:
                fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(os.urandom(32))
            except OSError:
                pass
            key = _read_key(key_file)
        return key

    def save(self) -> None:
        if self.file is None or (not self.refused and not self.refresh and self.used.keys() == self.entries.keys()
                                 and all(self.used[k]["blake2"] == self.entries[k].get("blake2") for k in self.used)):
            return
        tmp = None
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if _unsafe(self.file.parent, folder=True):
                return   # a folder others can write: never write a cache there
            key = self._writable_key()
            if key is None:
                return
            # only what survives JSON unchanged (a YAML mapping with non-string keys would not): else parse it next time
            kept = {k: v for k, v in self.used.items() if json.loads(json.dumps(v)) == v}
            body = json.dumps(kept, ensure_ascii=False, separators=(",", ":")).encode()
            head = json.dumps({"format": CACHE_FORMAT, "digest": _digest(body, key)}).encode()
            fd, tmp = tempfile.mkstemp(dir=self.file.parent, prefix=".spec-")
            with os.fdopen(fd, "wb") as fh:
                fh.write(head + b"\n" + body)
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.file)
        except Exception:  # noqa: BLE001 - read-only home, full disk...: no cache, same result
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)


def spec_digest(root: Path, digests: dict[str, str]) -> str:
    """The content digest of a spec: BLAKE2 of its files' relative paths and contents, in path order. Two folders
    with the same files have the same digest, whatever their location."""
    h = hashlib.blake2b(digest_size=16)
    for path in sorted(digests, key=lambda p: Path(p).relative_to(root).as_posix() if Path(p).is_relative_to(root) else p):
        rel = Path(path).relative_to(root).as_posix() if Path(path).is_relative_to(root) else path
        h.update(f"{rel}\0{digests[path]}\n".encode())
    return h.hexdigest()


def _digest(body: bytes, key: bytes) -> str:
    """The keyed digest of a cache's entries as written: a truncated or edited cache does not verify."""
    return hashlib.blake2b(body, key=key, digest_size=32).hexdigest()


def _read_key(path: Path) -> bytes | None:
    from convmed.infiles import open_regular

    try:
        with open_regular(path) as fh:
            key = fh.read(65)
    except (OSError, ConvmedError):
        return None
    return key if len(key) == 32 else None


def _unsafe(path: Path, folder: bool = False) -> str | None:
    """Why a cache file (and its folder) must not be trusted, or None: not owned by the user, writable by the group
    or others, or a symbolic link."""
    import stat

    targets = [path] if folder else [path.parent, path]
    for target in targets:
        try:
            st = os.lstat(target)
        except FileNotFoundError:
            continue
        except OSError as exc:
            return f"cache illisible : {exc.strerror}"
        if stat.S_ISLNK(st.st_mode):
            return f"cache refusé : {target} est un lien symbolique"
        if hasattr(os, "getuid") and st.st_uid != os.getuid():
            return f"cache refusé : {target} n'appartient pas à l'utilisateur"
        if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            return f"cache refusé : {target} est modifiable par d'autres utilisateurs"
    return None


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
        if c.kind != "act":
            spec.by_ref[c.id] = c   # an act is cited by its code (below), not by its path
        if c.kind == "act":
            code = c.data.get("code")
            if code in spec.acts_by_code:
                other = spec.acts_by_code[code]
                problems.append(Located(f"code {code} is already defined by {other.rel}", file=str(c.path),
                                        line=c.lines.line_for("/code"), pointer="/code", code="duplicate-code"))
            else:
                spec.acts_by_code[code] = c
                if isinstance(code, str):
                    spec.by_ref[code] = c
        elif c.kind == "rule":
            for code in c.data.get("applies_to", []):
                spec.rules_by_code.setdefault(code, []).append(c)
    if "meta" not in spec.concepts:
        problems.append(Located("spec/meta.yaml is missing", file=str(root), code="structure"))
    if problems:
        raise ConvmedError(problems)
    return spec


def load_spec_uncached(root: Path, *, refresh_cache: bool = False) -> Spec:
    """The spec under `root`, parsed (or read from the verified cache); `refresh_cache` parses every file and
    rewrites the cache from them (`convmed spec check`)."""
    if not root.is_dir():
        raise ConvmedError.single("spec directory not found", file=str(root), code="io")
    problems = []
    concepts = []
    cache = _ParseCache(root.resolve(), refresh=refresh_cache)
    for path in spec_files(root):
        try:
            concepts.append(read_concept(root, path, cache))
        except ConvmedError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ConvmedError(problems)
    cache.save()
    spec = build(root, concepts)
    spec.digest = spec_digest(root, cache.digests)
    return spec


@lru_cache(maxsize=4)
def _cached(root: str) -> Spec:
    return load_spec_uncached(Path(root))


def load_spec(root: Path | None = None) -> Spec:
    from convmed.paths import spec_dir

    return _cached(str((root or spec_dir()).resolve()))
