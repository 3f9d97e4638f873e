"""The vectors of one suite version: `conformance_tests/<version>/`.

Layout (JSON-Schema-Test-Suite style): `suite.json` (suite_version, spec_version,
published) and one file per rule family, `<family>.json`, valid against
`schemas/vector-file.schema.json`. Loading validates every file and reports every
problem located (file, line, JSON pointer); ids must be unique across the suite.
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from convmed.errors import ConvmedError, Located, pointer_join
from convmed.schemas import validate
from convmed.yamlio import json_line_map, load_json_text

SUITE_FILE = "suite.json"


@dataclass(frozen=True)
class Case:
    id: str
    family: str
    file: str
    index: int
    line: int | None
    description: str
    level: str
    rules: tuple[str, ...]
    seeds: tuple[dict, ...]
    kind: str
    input: dict
    expected: dict

    @property
    def date(self) -> str | None:
        """The as-of date of the case (claim date, or a forfait input's date / year start)."""
        if isinstance(self.input.get("date"), str):
            return self.input["date"]
        year = self.input.get("year")
        if isinstance(year, int):
            return f"{year:04d}-01-01"
        return None

    def wire(self) -> dict:
        """What the adapter receives: never the expected output."""
        return {"id": self.id, "kind": self.kind, "input": self.input}

    def seed_refs(self) -> list[str]:
        return [f"{s['seed']} › {' › '.join(s.get('path', []))} : « {s['quote']} »" for s in self.seeds]


@dataclass
class Suite:
    root: Path
    suite_version: str
    spec_version: str
    published: str
    cases: list[Case] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)

    @property
    def families(self) -> list[str]:
        return sorted({c.family for c in self.cases})

    def meta(self) -> dict:
        return {"suite_version": self.suite_version, "spec_version": self.spec_version, "published": self.published}


def default_suite_dir() -> Path:
    from convmed.paths import conformance_dir

    base = conformance_dir()
    if base is None or not base.is_dir():
        raise ConvmedError.single("conformance suite not found (set CONVMED_CONFORMANCE or pass --suite)", code="io")
    versions = sorted(p for p in base.iterdir() if p.is_dir() and (p / SUITE_FILE).is_file())
    if not versions:
        raise ConvmedError.single(f"no suite version (a folder with {SUITE_FILE}) under {base}", file=str(base), code="io")
    return max(versions, key=lambda p: [int(x) if x.isdigit() else x for x in p.name.lstrip("v").split(".")])


class _LazyLines:
    """Line numbers of a JSON text: each case's `"id"` found by one forward scan; the full
    pointer map (slow on big files) only when a problem must be located deeper."""

    def __init__(self, text: str):
        self.text = text
        self._full = None
        self._pos = 0
        self._line = 1

    def line_for(self, pointer: str) -> int | None:
        if self._full is None:
            self._full = json_line_map(self.text)
        return self._full.line_for(pointer)

    def case_line(self, index: int, case_id: str) -> int | None:
        """Line of the `"id"` of case `index` (cases are asked in order)."""
        pattern = re.compile(r'"id"\s*:\s*' + re.escape(json.dumps(case_id, ensure_ascii=False)))
        found = pattern.search(self.text, self._pos)
        if found is None:
            return self.line_for(f"/cases/{index}/id")
        self._line += self.text.count("\n", self._pos, found.start())
        self._pos = found.start()
        return self._line


def _read_json(path: Path):
    from convmed.infiles import decode_utf8, read_bounded
    from convmed.yamlio import MAX_BYTES

    text = decode_utf8(read_bounded(path, 4 * MAX_BYTES), str(path))
    return load_json_text(text, str(path)), _LazyLines(text)


def _suite_problems(data, file: str, lines) -> list[Located]:
    from jsonschema import Draft202012Validator

    from convmed.paths import schemas_dir
    from convmed.schemas import BASE_ID, _registry

    validator = Draft202012Validator({"$ref": BASE_ID + "vector-file.schema.json#/$defs/suite"},
                                     registry=_registry(str(schemas_dir())),
                                     format_checker=Draft202012Validator.FORMAT_CHECKER)
    problems = []
    for error in validator.iter_errors(data):
        pointer = pointer_join(list(error.absolute_path))
        problems.append(Located(error.message, file=file, line=lines.line_for(pointer), pointer=pointer, code="schema"))
    if not problems:
        try:
            date.fromisoformat(data["published"])
        except ValueError:
            problems.append(Located("published must be an ISO date", file=file,
                                    line=lines.line_for("/published"), pointer="/published", code="schema"))
    return problems


def _read_meta(root: Path) -> dict:
    path = root / SUITE_FILE
    if not path.is_file():
        raise ConvmedError.single(f"{SUITE_FILE} missing: not a suite version folder", file=str(root), code="io")
    data, lines = _read_json(path)
    problems = _suite_problems(data, str(path), lines)
    if problems:
        raise ConvmedError(problems)
    return data


def load_file(path: Path) -> tuple[dict, object, list[Located]]:
    """(data, line map, schema problems) of one vector file."""
    data, lines = _read_json(path)
    problems = validate(data, "vector-file", file=str(path), lines=lines)
    if not problems and data["family"] != path.stem:
        problems.append(Located(f"family {data['family']!r} must equal the file name {path.stem!r}", file=str(path),
                                line=lines.line_for("/family"), pointer="/family", code="family"))
    return data, lines, problems


def load_suite(root: Path | None = None, *, strict: bool = True) -> tuple[Suite, list[Located]]:
    """The suite at `root` (default: the newest version bundled with convmed).

    With strict=True any problem raises ConvmedError (exit 2); else problems are returned
    with the cases that could be read (the lint reports them all at once).
    """
    root = Path(root) if root else default_suite_dir()
    if not root.is_dir():
        raise ConvmedError.single("suite folder not found", file=str(root), code="io")
    meta = _read_meta(root)
    suite = Suite(root, meta["suite_version"], meta["spec_version"], meta["published"])
    problems: list[Located] = []
    seen: dict[str, str] = {}
    for path in sorted(root.glob("*.json")):
        if path.name == SUITE_FILE:
            continue
        suite.files.append(path)
        try:
            data, lines, file_problems = load_file(path)
        except ConvmedError as exc:
            problems.extend(exc.problems)
            continue
        if file_problems:
            problems.extend(file_problems)
            continue
        for i, raw in enumerate(data["cases"]):
            pointer = f"/cases/{i}"
            if raw["id"] in seen:
                problems.append(Located(f"case id {raw['id']!r} already used in {seen[raw['id']]}", file=str(path),
                                        line=lines.line_for(pointer + "/id"), pointer=pointer + "/id",
                                        code="duplicate-id"))
                continue
            seen[raw["id"]] = path.name
            suite.cases.append(Case(raw["id"], data["family"], str(path), i, lines.case_line(i, raw["id"]),
                                    raw["description"], raw["level"], tuple(raw["rules"]),
                                    tuple(raw.get("seeds", [])), raw["kind"], raw["input"], raw["expected"]))
    if strict and problems:
        raise ConvmedError(problems)
    return suite, problems


@dataclass
class Filters:
    families: list[str] = field(default_factory=list)
    level: str | None = None
    date_from: str | None = None
    date_to: str | None = None
    ids: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)

    def accepts(self, case: Case) -> bool:
        if self.families and case.family not in self.families:
            return False
        if self.level and case.level != self.level:
            return False
        if self.date_from or self.date_to:
            d = case.date
            if d is None or (self.date_from and d < self.date_from) or (self.date_to and d > self.date_to):
                return False
        if self.ids and not any(fnmatch.fnmatchcase(case.id, pattern) for pattern in self.ids):
            return False
        if self.rules and not any(r == p or r.startswith(p + "#") or r.startswith(p + ".")
                                  for r in case.rules for p in self.rules):
            return False
        return True

    def check(self, suite: Suite) -> None:
        problems = []
        for fam in self.families:
            if fam not in suite.families:
                problems.append(Located(f"unknown family {fam!r} (known: {', '.join(suite.families)})",
                                        pointer="--family", code="filter"))
        for name, value in (("--from", self.date_from), ("--to", self.date_to)):
            if value:
                try:
                    date.fromisoformat(value)
                except ValueError:
                    problems.append(Located(f"{name} must be an ISO date, not {value!r}", pointer=name, code="filter"))
        if problems:
            raise ConvmedError(problems)

    def select(self, suite: Suite) -> list[Case]:
        self.check(suite)
        return [c for c in suite.cases if self.accepts(c)]
