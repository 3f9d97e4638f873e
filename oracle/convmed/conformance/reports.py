"""Reports of a conformance run, written as the run goes.

- JSON Lines: a header (versions, implementation), one line per case as soon as it is
  known (flushed), a footer (counts; `interrupted` after Ctrl-C);
- JUnit XML, Markdown summary by rule family, badge JSON (shields.io endpoint format):
  rewritten atomically (temporary file + rename) at most once a second and at the end,
  so an interrupted run leaves complete, well-formed reports for the cases that ran.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from xml.sax.saxutils import escape as _xml_escape, quoteattr as _xml_quoteattr

from convmed.yamlio import json_line


def _xml_text(text) -> str:
    """Text for XML 1.0 and its readers: control characters (ESC, NUL…), lone surrogates and invisible format
    characters (U+202E…) written as visible escapes; tab and line breaks kept."""
    from convmed.errors import _escape

    text = str(text)
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch in "\t\n\r" else _escape(ch) for ch in text)


def escape(text) -> str:
    return _xml_escape(_xml_text(text))


def quoteattr(text) -> str:
    return _xml_quoteattr(_xml_text(text))


def _md(text) -> str:
    """A message for Markdown: one line, control characters as escapes (a hostile adapter's text stays inert)."""
    from convmed.errors import _printable

    return _printable(str(text))

STATUSES = ("passed", "failed", "errored", "skipped")
_FR = {"passed": "réussi", "failed": "échec", "errored": "erreur", "skipped": "ignoré"}


@dataclass
class CaseOutcome:
    id: str
    family: str
    level: str
    description: str
    rules: list[str]
    seeds: list[dict]
    status: str                      # passed | failed | errored | skipped
    message: str = ""
    differences: list[dict] = field(default_factory=list)
    duration: float = 0.0
    file: str = ""

    def as_dict(self) -> dict:
        out = {"type": "case", "id": self.id, "family": self.family, "level": self.level, "status": self.status,
               "description": self.description, "rules": self.rules, "duration_s": round(self.duration, 4)}
        if self.message:
            out["message"] = self.message
        if self.differences:
            out["differences"] = self.differences
        if self.status != "passed":
            out["seeds"] = self.seeds
        return out

    def explanation(self) -> str:
        """What failed and why, with the rules and the convention's text behind them (French)."""
        lines = [self.description]
        if self.message:
            lines.append(self.message)
        for d in self.differences:
            if d.get("missing"):
                lines.append(f"  {d['pointer']} : attendu {json.dumps(d['expected'], ensure_ascii=False)}, absent")
            else:
                lines.append(f"  {d['pointer']} : attendu {json.dumps(d['expected'], ensure_ascii=False)}, "
                             f"obtenu {json.dumps(d['actual'], ensure_ascii=False)}")
        lines.append("Règles : " + ", ".join(self.rules))
        for s in self.seeds:
            lines.append(f"Source : {s['seed']} › {' › '.join(s.get('path', []))} : « {s['quote']} »")
        return "\n".join(lines)


def counts(outcomes: list[CaseOutcome], level: str | None = None) -> dict:
    out = {s: 0 for s in STATUSES}
    for o in outcomes:
        if level is None or o.level == level:
            out[o.status] += 1
    out["total"] = sum(out[s] for s in STATUSES)
    return out


def percent_passing(outcomes: list[CaseOutcome]) -> int:
    """Floor of the share of required cases passed (all cases when none is required)."""
    pool = [o for o in outcomes if o.level == "required"] or outcomes
    if not pool:
        return 0
    return (100 * sum(o.status == "passed" for o in pool)) // len(pool)


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8", errors="backslashreplace")
    os.replace(tmp, path)


def junit_xml(outcomes: list[CaseOutcome], meta: dict, implementation: dict, elapsed: float) -> str:
    by_family: dict[str, list[CaseOutcome]] = {}
    for o in outcomes:
        by_family.setdefault(o.family, []).append(o)
    total = counts(outcomes)
    name = f"convmed conformance {meta.get('suite_version', '?')} — {implementation.get('name', '?')}"
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           f'<testsuites name={quoteattr(name)} tests="{total["total"]}" failures="{total["failed"]}" '
           f'errors="{total["errored"]}" skipped="{total["skipped"]}" time="{elapsed:.3f}">']
    props = {**{k: str(v) for k, v in meta.items()},
             "implementation": f"{implementation.get('name', '?')} {implementation.get('version', '')}".strip()}
    for family, items in sorted(by_family.items()):
        c = counts(items)
        out.append(f'  <testsuite name={quoteattr(family)} tests="{c["total"]}" failures="{c["failed"]}" '
                   f'errors="{c["errored"]}" skipped="{c["skipped"]}" '
                   f'time="{sum(o.duration for o in items):.3f}">')
        out.append("    <properties>")
        for k, v in props.items():
            out.append(f"      <property name={quoteattr(k)} value={quoteattr(v)}/>")
        out.append("    </properties>")
        for o in items:
            head = (f'    <testcase classname={quoteattr("convmed." + family)} name={quoteattr(o.id)} '
                    f'time="{o.duration:.3f}"')
            if o.status == "passed":
                out.append(head + "/>")
                continue
            out.append(head + ">")
            text = escape(o.explanation())
            summary = o.message or (o.differences and f"{len(o.differences)} différence(s)") or o.status
            summary = f"[{o.level}] {summary}"
            tag = {"failed": "failure", "errored": "error", "skipped": "skipped"}[o.status]
            if tag == "skipped":
                out.append(f"      <skipped message={quoteattr(summary)}/>")
            else:
                out.append(f"      <{tag} message={quoteattr(summary)} type={quoteattr(o.status)}>{text}</{tag}>")
            out.append("    </testcase>")
        out.append("  </testsuite>")
    out.append("</testsuites>")
    return "\n".join(out) + "\n"


def markdown(outcomes: list[CaseOutcome], meta: dict, implementation: dict, interrupted: bool) -> str:
    impl = f"{implementation.get('name', '?')} {implementation.get('version', '')}".strip()
    req = counts(outcomes, "required")
    lines = [f"# Conformité convmed — {impl}", "",
             f"Suite {meta.get('suite_version', '?')} (spec {meta.get('spec_version', '?')}, publiée le "
             f"{meta.get('published', '?')}) : **{percent_passing(outcomes)} %** des cas requis réussis "
             f"({req['passed']}/{req['total']})." + (" **Exécution interrompue** : seuls les cas exécutés figurent."
                                                      if interrupted else ""),
             "", "| famille | cas | réussis | échecs | erreurs | ignorés |", "|---|---:|---:|---:|---:|---:|"]
    by_family: dict[str, list[CaseOutcome]] = {}
    for o in outcomes:
        by_family.setdefault(o.family, []).append(o)
    for family, items in sorted(by_family.items()):
        c = counts(items)
        lines.append(f"| {family} | {c['total']} | {c['passed']} | {c['failed']} | {c['errored']} | {c['skipped']} |")
    c = counts(outcomes)
    lines.append(f"| **total** | {c['total']} | {c['passed']} | {c['failed']} | {c['errored']} | {c['skipped']} |")
    bad = [o for o in outcomes if o.status != "passed"]
    for family in sorted({o.family for o in bad}):
        lines += ["", f"## {family}", ""]
        for o in sorted((o for o in bad if o.family == family), key=lambda o: o.id):
            lines.append(f"- **{_FR[o.status]}** `{o.id}` ({o.level}) — {o.description}")
            lines.append(f"  - règles : {', '.join(f'`{r}`' for r in o.rules)}")
            if o.message:
                lines.append(f"  - {_md(o.message)}")
            for d in o.differences:
                got = "absent" if d.get("missing") else f"`{_md(json.dumps(d['actual'], ensure_ascii=False))}`"
                lines.append(f"  - `{_md(d['pointer'])}` : attendu `{json.dumps(d['expected'], ensure_ascii=False)}`, "
                             f"obtenu {got}")
            for s in o.seeds:
                lines.append(f"  - source : {s['seed']} › {' › '.join(s.get('path', []))} : « {s['quote']} »")
    return "\n".join(lines) + "\n"


def badge(outcomes: list[CaseOutcome], meta: dict) -> dict:
    pct = percent_passing(outcomes)
    color = "brightgreen" if pct == 100 else "yellow" if pct >= 90 else "orange" if pct >= 50 else "red"
    return {"schemaVersion": 1, "label": f"convmed {meta.get('suite_version', '')}".strip(),
            "message": f"{pct} % passing", "color": color}


class Reports:
    """Collects outcomes and keeps the report files up to date."""

    def __init__(self, paths: dict[str, Path | None], meta: dict, *, min_interval: float = 1.0):
        self.paths = {k: Path(v) for k, v in paths.items() if v}
        self.meta = meta
        self.implementation: dict = {}
        self.outcomes: list[CaseOutcome] = []
        self.started = time.monotonic()
        self.started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self.min_interval = min_interval
        self._last_write = 0.0
        self._lock = threading.Lock()
        self._jsonl = None
        self.finished = False

    def begin(self, implementation: dict, selection: dict | None = None) -> None:
        self.implementation = implementation
        if "jsonl" in self.paths:
            self.paths["jsonl"].parent.mkdir(parents=True, exist_ok=True)
            self._jsonl = self.paths["jsonl"].open("w", encoding="utf-8", errors="backslashreplace")
            header = {"type": "header", **self.meta, "implementation": implementation,
                      "started": self.started_at, "selection": selection or {}}
            self._write_line(header)
        self._rewrite()

    def _write_line(self, obj: dict) -> None:
        self._jsonl.write(json_line(obj))
        self._jsonl.flush()

    def add(self, outcome: CaseOutcome) -> None:
        with self._lock:
            if self.finished:   # a worker returning after Ctrl-C: the reports are closed
                return
            self.outcomes.append(outcome)
            if self._jsonl:
                self._write_line(outcome.as_dict())
            if time.monotonic() - self._last_write >= self.min_interval:
                self._rewrite()

    def _rewrite(self, interrupted: bool = False) -> None:
        self._last_write = time.monotonic()
        ordered = sorted(self.outcomes, key=lambda o: (o.family, o.id))
        elapsed = time.monotonic() - self.started
        if "junit" in self.paths:
            _atomic_write(self.paths["junit"], junit_xml(ordered, self.meta, self.implementation, elapsed))
        if "markdown" in self.paths:
            _atomic_write(self.paths["markdown"], markdown(ordered, self.meta, self.implementation, interrupted))
        if "badge" in self.paths:
            _atomic_write(self.paths["badge"], json.dumps(badge(ordered, self.meta), ensure_ascii=False) + "\n")

    def finish(self, *, interrupted: bool = False) -> dict:
        with self._lock:
            self.finished = True
            summary = {"type": "footer", "counts": counts(self.outcomes),
                       "required": counts(self.outcomes, "required"),
                       "percent_passing": percent_passing(self.outcomes),
                       "interrupted": interrupted,
                       "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                       "duration_s": round(time.monotonic() - self.started, 3)}
            if self._jsonl:
                self._write_line(summary)
                self._jsonl.close()
                self._jsonl = None
            self._rewrite(interrupted)
            return summary
