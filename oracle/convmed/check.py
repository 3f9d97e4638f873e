"""`convmed spec check`: schema validation, then integrity of the whole spec."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from convmed import arith
from convmed.conditions import facts_used
from convmed.errors import ConvmedError, Located
from convmed.model import KIND_SCHEMAS, RULE_SECTIONS, Concept, build, read_concept, spec_files
from convmed.quotes import normalise, quote_in_seed
from convmed.schemas import validate
from convmed.timeline import overlaps, parse_entry

STATUS_OF_SEED_KIND = {"signed": "signed", "draft": "draft", "convention_2016": "convention_2016", "proposal": "proposal"}


@dataclass
class CheckReport:
    files: int = 0
    concepts: int = 0
    quotes_checked: int = 0
    quotes_skipped: int = 0
    seeds_dir: str | None = None
    spec_dir: str | None = None
    spec_digest: str | None = None
    problems: list[Located] = field(default_factory=list)
    warnings: list[Located] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict:
        return {"ok": self.ok, "spec": {"path": self.spec_dir, "digest": self.spec_digest},
                "files": self.files, "concepts": self.concepts,
                "quotes": {"checked": self.quotes_checked, "skipped": self.quotes_skipped, "seeds_dir": self.seeds_dir},
                "problems": [p.as_dict() for p in self.problems],
                "warnings": [w.as_dict() for w in self.warnings]}


class _Checker:
    def __init__(self, root: Path, seeds: Path | None, report: CheckReport):
        self.root, self.seeds, self.report = root, seeds, report
        self.unreadable_seeds: set[str] = set()

    def err(self, c: Concept, pointer: str, message: str, code: str):
        self.report.problems.append(Located(message, file=str(c.path), line=c.lines.line_for(pointer),
                                            pointer=pointer, code=code))

    def warn(self, c: Concept, pointer: str, message: str, code: str):
        self.report.warnings.append(Located(message, file=str(c.path), line=c.lines.line_for(pointer),
                                            pointer=pointer, code=code))

    # ------------------------------------------------------------ walk helpers
    @staticmethod
    def walk(obj, pointer=""):
        yield pointer, obj
        if isinstance(obj, dict):
            for k, v in obj.items():
                yield from _Checker.walk(v, f"{pointer}/{k}")
        elif isinstance(obj, list):
            for i, v in enumerate(obj):
                yield from _Checker.walk(v, f"{pointer}/{i}")

    def run(self, concepts: list[Concept]):
        valid = []
        self.invalid: set[str] = set()   # ids and codes of files refused by their schema
        for c in concepts:
            schema = KIND_SCHEMAS.get(c.kind)
            if schema is None:
                self.err(c, "/kind", f"unknown kind {c.kind!r} (expected one of {', '.join(sorted(KIND_SCHEMAS))})",
                         "schema")
                continue
            problems = validate(c.data, schema, file=str(c.path), lines=c.lines)
            self.report.problems.extend(problems)
            if not problems:
                valid.append(c)
            else:
                self.invalid.update(x for x in (c.id, c.data.get("code")) if isinstance(x, str))
        try:
            spec = build(self.root, valid)
        except ConvmedError as exc:
            self.report.problems.extend(exc.problems)
            return
        self.spec = spec
        self.seed_status = {s["file"]: s["status"] for s in spec.meta["seeds"]} if "meta" in spec.concepts else {}
        self.check_seeds()
        for c in valid:
            self.check_concept(c)
        self.check_dependencies()
        self.check_citations()

    def check_components(self, c: Concept):
        """A `percent_of` component names a component of its scheme; each of a component's `choices` is a parameter
        with an `applies_when` condition (a percent one for percent_of) (scheme.schema.json)."""
        ids = [d["id"] for d in c.data.get("components", [])]
        for i, decl in enumerate(c.data.get("components", [])):
            if "percent_of" in decl and (decl["percent_of"] not in ids or decl["percent_of"] == decl["id"]):
                self.err(c, f"/components/{i}/percent_of", f"percent_of {decl['percent_of']!r} is not another "
                         f"component of this scheme", "reference")
            for k, pid in enumerate(decl.get("choices", [])):
                rate = self.spec.concepts.get(pid)
                percent = "percent_of" in decl
                if rate is None or rate.kind != "parameter" or "applies_when" not in rate.data \
                        or (percent and rate.data.get("unit") != "percent"):
                    self.err(c, f"/components/{i}/choices/{k}", f"choice {pid} is not a {'percent ' if percent else ''}"
                             f"parameter with `applies_when`", "reference")

    def check_citations(self):
        """Every citation of the conformance vectors beside this spec (`rules` of each case) designates an element
        of the spec (SEMANTIQUE.md § 7.1): no dated value cited by position, no act by its path, nothing dangling."""
        from convmed.conformance.vectors import default_suite_dir, load_suite

        try:
            suite_dir = default_suite_dir()
        except (ConvmedError, OSError):
            return   # no suite (a copy of spec/ alone): nothing cites it
        if suite_dir.resolve().parent.parent != self.root.resolve().parent:
            return   # the vectors go with another spec (a copy under test, however named): the lint checks those
        try:
            suite, _ = load_suite(suite_dir, strict=False)   # the vector files' own problems: the lint's
        except (ConvmedError, OSError):
            return
        for case in suite.cases:
            for i, rule in enumerate(case.rules):
                if rule.partition("#")[0] in self.invalid:
                    continue   # its file failed its schema: already reported, not once per citing vector
                problem = self.spec.citation_problem(rule)
                if problem:
                    self.report.problems.append(Located(problem, file=case.file, line=case.line,
                                                        pointer=f"/cases/{case.index}/rules/{i}", code="citation"))

    def check_dependencies(self):
        """The code-level dependency graph (base acts, non-cumuls a code yields in) has no cycle: a claim's lines
        can always be evaluated in order (SEMANTIQUE.md § 2)."""
        from convmed.claim_plan import code_graph_cycles

        for cycle in code_graph_cycles(self.spec):
            c = self.spec.acts_by_code[cycle[0]]
            self.err(c, "/code", "dependency cycle between codes (base / non_cumul yields): " + " -> ".join(cycle)
                     + " ; a non-cumul both texts state for each other is written once with `yields: both`", "cycle")

    def check_seeds(self):
        if self.seeds is None:
            return
        meta = self.spec.concepts["meta"]
        for i, seed in enumerate(meta.data["seeds"]):
            path = self.seeds / seed["file"]
            if not path.exists():
                self.err(meta, f"/seeds/{i}/file", f"seed {seed['file']} not found in {self.seeds}", "seed")
                continue
            try:   # a regular file, bounded, UTF-8: else its quotes cannot be checked (an error, located)
                from convmed.infiles import read_bounded
                from convmed.quotes import SEED_MAX_BYTES, _seed_text

                data = read_bounded(path, SEED_MAX_BYTES)
                _seed_text(str(path))
            except ConvmedError as exc:
                self.unreadable_seeds.add(seed["file"])
                self.err(meta, f"/seeds/{i}/file", f"seed unreadable: {exc.problems[0].render()}", "seed")
                continue
            if "sha256" in seed and hashlib.sha256(data).hexdigest() != seed["sha256"]:
                self.warn(meta, f"/seeds/{i}/sha256", f"seed {seed['file']} differs from the version the spec was written on",
                          "seed-changed")

    def check_concept(self, c: Concept):
        for pointer, node in self.walk(c.data):
            if not isinstance(node, dict):
                continue
            if "seed" in node and "quote" in node:
                self.check_source(c, pointer, node)
            if "fact" in node:
                self.check_fact(c, pointer, node)
                if str(node["fact"]).startswith("other.") and "/unless" not in pointer:
                    self.err(c, pointer + "/fact", f"fact {node['fact']} (the other line of a non-cumul) is only "
                             "meaningful in a non_cumul `unless` condition", "reference")
            if pointer.endswith("/refusal") or pointer.endswith("/refusal".lstrip("/")):
                self.check_refusal(c, pointer, node)
            if "derivation" in node and "value" in node:
                self.check_derivation(c, pointer, node)
            if "status" in node and "sources" in node and isinstance(node["sources"], list):
                self.check_status(c, pointer, node)
        if c.kind in ("act", "parameter"):
            self.check_timeline(c)
        if c.kind == "scheme":
            self.check_components(c)
        if c.kind == "decision_table":
            from convmed.forfaits.tables import table_problems

            for pointer, message in table_problems(self.spec, c):   # rows, holes, overlaps
                self.err(c, pointer, message, "decision-table")
        self.check_sections(c)
        for pointer, node in self.walk(c.data):
            if isinstance(node, dict):
                for key in ("count_codes", "applies_to", "see_also") + (("codes",) if
                                                                        "/base/" in pointer or "/non_cumul/" in pointer else ()):
                    if isinstance(node.get(key), list):
                        for i, code in enumerate(node[key]):
                            self.check_code(c, f"{pointer}/{key}/{i}", code)
                if isinstance(node.get("same"), list) and "count_codes" in node:
                    facts = self.spec.vocabulary("facts")
                    for i, name in enumerate(node["same"]):
                        if name not in facts:
                            self.err(c, f"{pointer}/same/{i}", f"fact {name} is not in spec/vocabulary/facts.yaml",
                                     "reference")

    def check_sections(self, c: Concept):
        for key in RULE_SECTIONS:
            for i, item in enumerate(c.data.get(key, [])):
                if isinstance(item.get("from"), str) and "until" in item and str(item["until"]) <= item["from"]:
                    self.err(c, f"/{key}/{i}/until", "until must be after from", "timeline")
        ids = [r["id"] for key in RULE_SECTIONS for r in c.data.get(key, [])]
        for dup in {i for i in ids if ids.count(i) > 1}:
            self.err(c, "/requirements", f"requirement/limit id {dup!r} is used twice", "duplicate-id")

    def check_code(self, c, pointer, code):
        if code not in self.spec.acts_by_code:
            self.err(c, pointer, f"code {code} does not resolve to any act in spec/", "reference")

    def check_refusal(self, c, pointer, node):
        reasons = self.spec.vocabulary("reasons")
        if node.get("reason") not in reasons:
            self.err(c, pointer + "/reason", f"reason {node.get('reason')} is not in spec/vocabulary/reasons.yaml",
                     "reference")
        if "instead" in node:
            self.check_code(c, pointer + "/instead", node["instead"])

    def check_fact(self, c, pointer, node):
        facts = self.spec.vocabulary("facts")
        name = node["fact"]
        if name not in facts:
            self.err(c, pointer + "/fact", f"fact {name} is not in spec/vocabulary/facts.yaml", "reference")
            return
        term = facts[name]
        on_record = c.kind in ("indicator", "parameter") and pointer.split("/")[1:2] in (
            ["criterion"], ["eligibility"], ["exclusions"], ["validation"])   # a forfait criterion (§ 1.5)
        for problem, where in fact_use_problems(term, node, on_record):
            self.err(c, pointer + where, problem, "fact-use")
        if isinstance(node.get("where"), dict):
            self.check_fact_parameters(c, pointer + "/where", node["where"])
        vocab = term.get("values_from")
        if vocab:
            from convmed.operators import of

            allowed = self.spec.vocabulary(vocab)
            try:
                op, operand = of(node)
            except ValueError:
                return   # the schema reports an unknown operator
            listed = isinstance(operand, list)
            for i, v in enumerate(op.terms(operand)):   # the operand values that name terms (convmed.operators)
                if v not in allowed:
                    self.err(c, f"{pointer}/{op.name}" + (f"/{i}" if listed else ""),
                             f"{v!r} is not a term of spec/vocabulary/{vocab}.yaml", "reference")

    def check_fact_parameters(self, c, pointer, where: dict):
        """patient.events' filter: its type is a term of vocabulary/care_events.yaml, a campaign starts on a day
        every year has (not 29 February)."""
        events = self.spec.vocabulary("care_events")
        if where.get("type") not in events:
            self.err(c, pointer + "/type", f"{where.get('type')!r} is not a term of spec/vocabulary/care_events.yaml",
                     "reference")
        campaign = (where.get("window") or {}).get("campaign")
        if isinstance(campaign, dict):
            try:
                date(2001, campaign.get("month", 1), campaign.get("day", 1))   # 2001: not a leap year
            except (TypeError, ValueError):
                self.err(c, pointer + "/window/campaign", f"a campaign starts on a day every year has, not "
                         f"{campaign.get('day')}/{campaign.get('month')}", "fact-use")

    def check_source(self, c, pointer, src):
        if src["seed"] not in self.seed_status:
            self.err(c, pointer + "/seed", f"seed {src['seed']} is not registered in spec/meta.yaml", "reference")
            return
        if self.seeds is None:
            self.report.quotes_skipped += 1
            return
        if not normalise(src["quote"]):
            self.err(c, pointer + "/quote", "blank quote: a source quotes at least one word of its seed", "quote")
            return
        path = self.seeds / src["seed"]
        if not path.is_file() or src["seed"] in self.unreadable_seeds:   # reported once, by check_seeds
            self.report.quotes_skipped += 1
            return
        self.report.quotes_checked += 1
        if not quote_in_seed(src["quote"], path):
            self.err(c, pointer + "/quote", f"quote not found in {src['seed']}: {src['quote'][:80]!r}", "quote")
        missing = [h for h in src["path"] if not quote_in_seed(h.split(" › ")[-1], path, fold_case=True)]
        if missing:
            self.warn(c, pointer + "/path", f"heading(s) not found in {src['seed']}: {missing}", "heading")

    def check_status(self, c, pointer, node):
        status = node["status"]
        if status == "derived":
            return
        kinds = {self.seed_status.get(s.get("seed")) for s in node["sources"]}
        if STATUS_OF_SEED_KIND.get(status) not in kinds:
            self.err(c, pointer + "/status",
                     f"status {status} needs at least one source from a {status} seed (sources are {sorted(filter(None, kinds))})",
                     "status")

    def check_derivation(self, c, pointer, node):
        try:
            computed = arith.evaluate(node["derivation"]["formula"])
        except (ValueError, ArithmeticError) as exc:
            self.err(c, pointer + "/derivation/formula", f"formula does not compute: {exc}", "derivation")
            return
        from convmed.money import parse_decimal

        if computed != parse_decimal(node["value"]):
            self.err(c, pointer + "/derivation/formula",
                     f"formula gives {computed}, not the value {node['value']}", "derivation")

    def check_timeline(self, c: Concept):
        try:
            entries = [parse_entry(i, v) for i, v in enumerate(c.data["values"])]
        except ValueError as exc:
            self.err(c, "/values", f"bad date or value: {exc}", "timeline")
            return
        from convmed.timeline import Timeline

        keys: dict[str, int] = {}
        for e in entries:   # the stable id of each entry (SEMANTIQUE.md § 7.1) is unique in its file
            if str(e.raw.get("id", "x")).isdigit():   # it would read as the old positional citation values/<n>
                self.err(c, f"/values/{e.index}/id", f"entry id {e.raw['id']!r} is a number: a dated value is never "
                         f"cited by a position-like id", "value-id")
            if e.key in keys:
                self.err(c, f"/values/{e.index}/from", f"values {keys[e.key]} and {e.index} have the same id {e.key!r}: "
                         f"give one of them an explicit `id`", "value-id")
            keys.setdefault(e.key, e.index)
        timeline = Timeline(entries)
        territories = {t for e in entries for t in (e.territories or ())} | {"metropole"}
        specialties = {s for e in entries for s in (e.specialties or ())} | {None}
        seen = set()
        groups: dict[tuple, list] = {}
        for e in entries:
            groups.setdefault((e.territories, e.specialties), []).append(e)
        for group in groups.values():
            for a, b in zip(group, group[1:]):
                if (b.lo, b.hi) < (a.lo, a.hi):
                    self.err(c, f"/values/{b.index}/from",
                             f"values {a.index} and {b.index} are not in chronological order", "overlap")
            for a, b, why in overlaps(sorted(group, key=lambda e: (e.lo, e.hi))):
                seen.add((a.index, b.index))
                self.err(c, f"/values/{b.index}/from", f"values {a.index} and {b.index}: {why}", "overlap")
        for t, s in sorted(((t, s) for t in territories for s in specialties), key=str):
            for a, b, why in overlaps(timeline.track(t, s)):
                key = (a.index, b.index)
                if key in seen:
                    continue
                seen.add(key)
                where = t + (f", {s}" if s else "")
                self.err(c, f"/values/{b.index}/from", f"values {a.index} and {b.index} ({where}): {why}", "overlap")


def check_spec(root: Path, seeds: Path | None) -> CheckReport:
    """Parses every file itself (never the cache), and rewrites the parsed-spec cache from what it parsed: what
    the other commands read afterwards is what was checked."""
    from convmed.model import _ParseCache

    from convmed.model import spec_digest

    report = CheckReport(seeds_dir=str(seeds) if seeds else None, spec_dir=str(root.resolve()))
    concepts = []
    cache = _ParseCache(root.resolve(), refresh=True)
    for path in spec_files(root):
        report.files += 1
        try:
            concepts.append(read_concept(root, path, cache))
        except ConvmedError as exc:
            report.problems.extend(exc.problems)
    cache.save()
    report.spec_digest = spec_digest(root, cache.digests)
    report.concepts = len(concepts)
    _Checker(root, seeds, report).run(concepts)
    return report


def fact_use_problems(term: dict, leaf: dict, on_record: bool) -> list[tuple[str, str]]:
    """(message, pointer suffix) for each misuse of a fact in a condition leaf: a fact read from a claim in a
    forfait criterion (a patient record's `criterion`) or the reverse, `where` on a fact without parameters or
    missing on one with, an operator that does not read the fact's value type (`is` on an integer...)."""
    from convmed.operators import of

    name, out = leaf["fact"], []
    if on_record and "record" not in term:
        out.append((f"fact {name} is not a fact of a patient record (no `record` in spec/vocabulary/facts.yaml): "
                    "a forfait criterion cannot read it", "/fact"))
    if not on_record and "claim_pointer" not in term and "derived" not in term:
        out.append((f"fact {name} is a fact of a patient record only: a claim's condition cannot read it", "/fact"))
    if ("where" in leaf) != ("parameters" in term):
        out.append((f"fact {name} " + ("takes no parameters (`where`)" if "where" in leaf
                                      else "is parameterised: the condition gives its `where`"), "/fact"))
    try:
        op, _operand = of(leaf)
    except ValueError:
        return out   # the schema reports an unknown operator
    if op.reads and term.get("type") and term["type"] not in op.reads:   # the operator's own definition
        out.append((f"operator {op.name} does not read a fact of type {term['type']} ({name})", f"/{op.name}"))
    element = {"integer_set": int, "string_set": str}.get(term.get("type"))
    if element is not None:   # a set's operand values are of its elements' type
        values = _operand if isinstance(_operand, list) else [_operand]
        wrong = [v for v in values if not isinstance(v, element) or isinstance(v, bool)]
        if wrong:
            out.append((f"{name} holds {'integers' if element is int else 'strings'}: {wrong!r} can never match",
                        f"/{op.name}"))
    if op.name == "between" and isinstance(_operand, list) and len(_operand) == 2 and _operand[0] > _operand[1]:
        out.append((f"between {_operand}: the lower bound is above the upper one (never true)", f"/{op.name}"))
    if on_record and "record" in term and name not in _record_readers():
        out.append((f"fact {name} declares `record` but convmed has no reader for it (convmed.forfaits.facts)",
                    "/fact"))
    return out


def _record_readers() -> set:
    from convmed.forfaits.facts import _RECORD_FACTS

    return set(_RECORD_FACTS)

