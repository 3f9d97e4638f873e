"""Generate the documentation pages from the spec, then build the site with mkdocs-material.

Layout (documented in docs/lecture.md):

- hand-written pages live in `docs/` and are committed (`index.md`, `lecture.md`, the vendor guide);
- every generated page is written under `docs/generated/` (git-ignored), by jinja2
  templates shipped inside this package (`convmed/docs/templates/`);
- `mkdocs.yml` loads `convmed/docs/mkdocs_hook.py`, which regenerates the pages before
  mkdocs collects files and builds the navigation, so `mkdocs build --strict` and
  `convmed docs build` produce the same site. Pages are rewritten only when their text
  changes (so `mkdocs serve` does not loop).

Everything is generic over concept kinds: a kind the generator does not know gets the
generic page (label, description, dated values, requirements, limits, other fields).
"""

from __future__ import annotations

import json
import os
import posixpath
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

import yaml
from jinja2 import Environment, PackageLoader

from convmed.conditions import describe as describe_formal
from convmed.model import RULE_SECTIONS
from convmed.diff import dated_key, diff, render_markdown, state_on, timeline_of
from convmed.docs import svg
from convmed.docs.french import (KIND_FR, Phrasebook, condition_mentions, folder_label, not_computed_fr, period_fr,
                                 status_fr, unit_fr)
from convmed.errors import ConvmedError
from convmed.model import Spec, load_spec
from convmed.paths import conformance_dir, repo_root, schemas_dir

GENERATED = "generated"
SEMANTICS_PAGE = f"{GENERATED}/semantique.md"


def semantics_page(spec: Spec) -> str:
    """spec/SEMANTIQUE.md, the normative evaluation model, published as it is (its link to the spec's README,
    a file of the repository and not a page of the site, becomes plain text)."""
    text = (spec.root / "SEMANTIQUE.md").read_text(encoding="utf-8")
    return text.replace("[`README.md`](README.md)", "`spec/README.md`")

# The signatories, quoted from the signed seeds (tests check the quotes occur in them).
SIGNATORIES = [
    {"seed": "000_faed2a3a0097973c.txt", "path": ["SYNDICATS SIGNATAIRES DE LA CONVENTION MÉDICALE"],
     "quote": "la convention médicale a été signée le 4 juin 2024 par une très large majorité des syndicats"},
    {"seed": "000_faed2a3a0097973c.txt", "path": ["SYNDICATS SIGNATAIRES DE LA CONVENTION MÉDICALE"],
     "quote": "Au titre du collège des médecins généralistes (>70%) : o MG France (36,58%) o CSMF (17,31%) o FMF (17,18%)"},
    {"seed": "000_faed2a3a0097973c.txt", "path": ["SYNDICATS SIGNATAIRES DE LA CONVENTION MÉDICALE"],
     "quote": "Au titre du collège des médecins spécialistes (>70%) : o Avenir Spé (39,30%) o CSMF (22,36%) o SML (12,02%)"},
    {"seed": "000_faed2a3a0097973c.txt", "path": ["SYNDICATS SIGNATAIRES DE LA CONVENTION MÉDICALE"],
     "quote": "Seul le syndicat UFML-S n’a pas signé."},
    {"seed": "001_ab5cae78f2c1ff08.txt", "path": ["Convention médicale 2024-2029 : l’essentiel"],
     "quote": "Signée le 4 juin 2024 par 5 syndicats représentatifs des médecins libéraux (1), l’Union nationale des "
              "caisses d’assurance maladie (Uncam) et l’Union nationale des organismes complémentaires d’assurance "
              "maladie (Unocam)"},
    {"seed": "001_ab5cae78f2c1ff08.txt", "path": ["Convention médicale 2024-2029 : l’essentiel"],
     "quote": "(1) MG France, Avenir-Spé-Le Bloc, la CSMF (Confédération des syndicats médicaux français), la FMF "
              "(Fédération des médecins de France) et le Syndicat des médecins libéraux (SML)."},
]


def default_config() -> Path:
    root = repo_root()
    if root is None or not (root / "mkdocs.yml").is_file():
        raise ConvmedError.single("mkdocs.yml introuvable : lancez la commande depuis un dépôt convmed ou passez --config",
                                  code="io")
    return root / "mkdocs.yml"


def reference_date() -> date:
    """The date of « valeur actuelle » (today, or $CONVMED_DOCS_DATE for a reproducible build)."""
    text = os.environ.get("CONVMED_DOCS_DATE")
    if text:
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise ConvmedError.single(f"CONVMED_DOCS_DATE : date invalide {text!r}", code="usage") from None
    return date.today()


# ---------------------------------------------------------------- helpers

def page_of(concept_id: str) -> str:
    """Docs-relative path of a concept's page."""
    return f"{GENERATED}/concepts/{concept_id.replace('.', '/')}.md"


def rel(from_page: str, to_page: str) -> str:
    return posixpath.relpath(to_page, posixpath.dirname(from_page) or ".")


def seed_short(spec: Spec, seed: str) -> str:
    for s in spec.meta.get("seeds", []):
        if s.get("file") == seed:
            return s.get("short", seed)
    return seed


def entry_start(raw: dict) -> str:
    start = raw.get("from")
    if isinstance(start, str):
        return start
    if isinstance(start, dict):
        lo, hi = start.get("not_before"), start.get("in_force_by")
        return f"date incertaine : au plus tôt {lo or '?'}, au plus tard {hi or '?'}"
    return str(start)


def entry_value_text(raw: dict) -> str:
    if "value" in raw:
        return raw["value"]
    if raw.get("in_force") is True:
        return "en vigueur"
    if "gap" in raw:
        return "lacune"
    if raw.get("abolished"):
        return "supprimé"
    return "?"


def walk_conflicts(obj, pointer=""):
    """Every `conflict` object in a concept's data, with its JSON pointer and the node that holds it."""
    if isinstance(obj, dict):
        if isinstance(obj.get("conflict"), dict):
            yield pointer, obj
        for k, v in obj.items():
            if k != "conflict":
                yield from walk_conflicts(v, f"{pointer}/{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from walk_conflicts(v, f"{pointer}/{i}")


@dataclass
class Vector:
    file: str
    family: str
    id: str
    description: str
    level: str
    rules: list[str]
    kind: str
    expected: dict


def load_vectors(folder: Path | None) -> tuple[list[Vector], list[str]]:
    vectors, problems = [], []
    if folder is None:
        return vectors, problems
    for path in sorted(folder.glob("v*/*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            for case in data.get("cases", []):
                vectors.append(Vector(f"{path.parent.name}/{path.name}", data.get("family", path.stem), case["id"],
                                      case.get("description", ""), case.get("level", ""), list(case.get("rules", [])),
                                      case.get("kind", ""), case.get("expected", {})))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            problems.append(f"{path.name} : fichier de vecteurs illisible ({type(exc).__name__})")
    return vectors, problems


def vector_names(v: Vector, concept_id: str) -> bool:
    return any(r == concept_id or r.startswith(concept_id + "#") for r in v.rules)


def expected_summary(expected: dict) -> str:
    parts = []
    for line in expected.get("lines", []) or []:
        if isinstance(line, dict):
            bits = [str(line.get(k)) for k in ("code", "status", "amount", "reason") if line.get(k) is not None]
            parts.append(" ".join(bits))
    if "total" in expected:
        parts.append(f"total {expected['total']}")
    if not parts:
        parts.append(json.dumps(expected, ensure_ascii=False)[:120])
    return " ; ".join(parts)


# ---------------------------------------------------------------- the site model

@dataclass
class Site:
    spec: Spec
    today: date
    vectors: list[Vector]
    vector_problems: list[str]
    phrases: Phrasebook
    pages: dict[str, str] = field(default_factory=dict)      # docs-relative path -> markdown
    fragments: dict[str, str] = field(default_factory=dict)  # marker name -> markdown (hand-written pages)
    nav: list = field(default_factory=list)

    # -- concepts
    def concepts(self):
        return sorted(self.spec.concepts.values(), key=lambda c: c.id)

    def title(self, c) -> str:
        d = c.data
        if d.get("code"):
            return f"{d['code']} — {d.get('label', '')}".rstrip(" —")
        return d.get("label") or d.get("title") or c.id

    def short(self, c) -> str:
        return c.data.get("code") or c.data.get("label") or c.data.get("title") or c.id

    def current(self, c, territory="metropole", specialty=None) -> dict | None:
        key = dated_key(c)
        if key is None:
            return None
        st = state_on(timeline_of(c, key), self.today, territory, specialty)
        start = st.entry.start_text() if st.entry else None
        since = None
        if start:
            since = f"depuis une date {start.replace('?', 'inconnue')}" if start.startswith("entre") else f"depuis le {start}"
        return {"state": st.state, "text": st.text(), "from": start, "since": since, "status": st.status}

    def family(self, c) -> str:
        parts = c.id.split(".")
        return ".".join(parts[:-1])

    def link_code(self, from_page: str, code: str) -> str:
        c = self.spec.acts_by_code.get(code)
        return f"[{code}]({rel(from_page, page_of(c.id))})" if c else f"`{code}`"

    def rules_for(self, c) -> list:
        code = c.data.get("code")
        return self.spec.rules_by_code.get(code, []) if code else []


def history_rows(site: Site, c, key: str = "values") -> list[dict]:
    rows = []
    for i, raw in enumerate(c.data.get(key) or []):
        if not isinstance(raw, dict):
            continue
        scope = []
        if raw.get("territories"):
            scope.append("territoires : " + ", ".join(raw["territories"]))
        if raw.get("specialties"):
            scope.append("spécialités : " + ", ".join(raw["specialties"]))
        notes = []
        if isinstance(raw.get("from"), dict) and raw["from"].get("note"):
            notes.append(("date", raw["from"]["note"]))
        if raw.get("date_note"):
            notes.append(("date", raw["date_note"]))
        if raw.get("gap"):
            notes.append(("lacune", raw["gap"].get("note", "")))
            notes.append(("renvoi", raw["gap"].get("points_to", "")))
            for r in raw["gap"].get("reported_elsewhere") or []:
                src = r.get("source", {})
                notes.append(("hors corpus, pour information seulement",
                              f"{r.get('text', '')} — {src.get('reference', '')} ({src.get('date', '')}, {src.get('reliability', '')})"))
        if raw.get("derivation"):
            notes.append(("dérivation", raw["derivation"].get("formula", "") + (
                " — " + raw["derivation"]["note"] if raw["derivation"].get("note") else "")))
        if raw.get("conflict"):
            notes.append(("conflit", f"{raw['conflict'].get('id')} : {raw['conflict'].get('topic', '')}"))
        if raw.get("note"):
            notes.append(("note", raw["note"]))
        rows.append({
            "index": i,
            "from": entry_start(raw),
            "value": entry_value_text(raw),
            "status": raw.get("status", ""),
            "status_fr": status_fr(raw.get("status")),
            "scope": " ; ".join(scope) or "général",
            "sources": [{"seed": s.get("seed", ""), "short": seed_short(site.spec, s.get("seed", "")),
                         "path": " › ".join(s.get("path") or []), "quote": s.get("quote", ""),
                         "reading": s.get("reading")} for s in raw.get("sources") or []],
            "notes": notes,
        })
    return rows


def value_points(c) -> list[tuple[date, Decimal | None]]:
    try:
        entries = c.timeline.track("metropole", None)
    except Exception:  # noqa: BLE001 - a malformed entry only costs the plot
        return []
    pts = []
    for e in entries:
        if e.lo == date.min:
            continue
        pts.append((e.lo, e.value))
    return pts


HANDLED_KEYS = {"kind", "code", "label", "category", "unit", "description", "values", "requirements", "limits",
                "base", "non_cumul", "territorial_scope",
                "notes", "see_also", "applies_to", "ngap", "pricing", "scheme", "terms", "quantum", "mode",
                "status", "sources", "external", "title", "gaps", "in_force", "parameters", "components",
                "not_computed", "criterion", "eligibility", "exclusions", "validation"}
META_KEYS = {"spec_version", "precedence", "seeds", "milestones"}


def concept_context(site: Site, c) -> dict:
    page = page_of(c.id)
    d = c.data
    reqs = []
    own = [(c, r) for r in d.get("requirements") or [] if isinstance(r, dict)]
    shared = [(rc, r) for rc in site.rules_for(c) for r in rc.data.get("requirements") or [] if isinstance(r, dict)]
    for owner, r in own + shared:
        cond = r.get("condition") or {}
        try:
            plain, formal = site.phrases.describe(cond), describe_formal(cond)
        except Exception:  # noqa: BLE001 - an unknown operator: show the raw tree
            plain, formal = json.dumps(cond, ensure_ascii=False), ""
        reqs.append({"owner": owner.id, "owner_link": None if owner is c else rel(page, page_of(owner.id)),
                     "id": r.get("id"), "r": r, "plain": plain, "formal": formal,
                     "status_fr": status_fr(r.get("status")),
                     "from": entry_start(r) if r.get("from") else None, "until": r.get("until"),
                     "instead": site.link_code(page, r["refusal"]["instead"]) if (r.get("refusal") or {}).get("instead") else None})
    limits = []
    own_l = [(c, x) for x in d.get("limits") or [] if isinstance(x, dict)]
    shared_l = [(rc, x) for rc in site.rules_for(c) for x in rc.data.get("limits") or [] if isinstance(x, dict)]
    for owner, x in own_l + shared_l:
        try:
            when = site.phrases.describe(x["when"]) if isinstance(x.get("when"), dict) else ""
        except Exception:  # noqa: BLE001
            when = json.dumps(x.get("when"), ensure_ascii=False)
        limits.append({"owner": owner.id, "owner_link": None if owner is c else rel(page, page_of(owner.id)),
                       "l": x, "period": period_fr(x), "status_fr": status_fr(x.get("status")), "when": when,
                       "codes": ", ".join(site.link_code(page, k) for k in x.get("count_codes") or []),
                       "same": ", ".join(site.phrases.fact(f) for f in x.get("same") or [])})
    cumul = relations_context(site, c, page)
    semantics_link = rel(page, SEMANTICS_PAGE)
    conflicts = [{"pointer": p, "node": n, "c": n["conflict"]} for p, n in walk_conflicts(d)]
    gaps = [row for row in history_rows(site, c) if row["value"] == "lacune"]
    for g in d.get("gaps") or []:  # documented gaps of a scheme (not tied to a dated value)
        if isinstance(g, dict) and isinstance(g.get("gap"), dict):
            gaps.append({"from": g.get("id", ""), "scope": "dispositif", "notes": [
                ("lacune", g["gap"].get("note", "")), ("renvoi", g["gap"].get("points_to", ""))]})
    periods = history_rows(site, c, key="in_force") if isinstance(d.get("in_force"), list) else []
    parameters = [(pid, rel(page, page_of(pid)) if pid in site.spec.concepts else None)
                  for pid in d.get("parameters") or [] if isinstance(pid, str)]
    vectors = [v for v in site.vectors if vector_names(v, c.ref)]
    points = value_points(c)
    plot = ""
    if sum(1 for _, v in points if v is not None) >= 1 and d.get("unit") != "boolean":
        plot = svg.step_chart(f"Évolution de {site.short(c)}", points, max(site.today, date(2026, 12, 31)), d.get("unit", ""))
    criteria = []   # a decision-table cell's patients; an indicator's eligibility, exclusions, validation
    for key, title in (("criterion", "Patients concernés"), ("eligibility", "Patients éligibles"),
                       ("exclusions", "Patients exclus"), ("validation", "Indicateur validé si")):
        block = d.get(key)
        cond = block.get("criterion") if key != "criterion" and isinstance(block, dict) else block
        if isinstance(cond, dict):
            criteria.append({"title": title, "plain": site.phrases.describe(cond), "formal": describe_formal(cond),
                             "block": block if key != "criterion" else {}})
    extra = {k: v for k, v in d.items() if k not in HANDLED_KEYS and not (c.kind == "meta" and k in META_KEYS)}
    related = []
    if c.kind not in ("act", "parameter", "meta", "vocabulary") and "." in c.id:
        folder = c.id.rsplit(".", 1)[0] + "."
        for other in site.concepts():
            if other is not c and other.id.startswith(folder):
                related.append({"title": site.title(other), "link": rel(page, page_of(other.id)),
                                "id": other.id, "current": site.current(other), "unit": unit_fr(other.data.get("unit"))})
    return {
        "c": c, "d": d, "title": site.title(c), "kind_fr": KIND_FR.get(c.kind, c.kind), "criteria": criteria,
        "known_kind": c.kind in KIND_FR, "current": site.current(c), "today": site.today.isoformat(),
        "rows": history_rows(site, c), "requirements": reqs, "limits": limits, "conflicts": conflicts,
        "gaps": gaps, "vectors": vectors, "plot": plot, "cumul": cumul, "semantics_link": semantics_link,
        "applies_to": [site.link_code(page, k) for k in d.get("applies_to") or []] if isinstance(d.get("applies_to"), list) else None,
        "see_also": [site.link_code(page, k) for k in d.get("see_also") or []],
        "extra_yaml": yaml.safe_dump(extra, allow_unicode=True, sort_keys=False, default_flow_style=False) if extra else "",
        "family_page": rel(page, family_page(site.family(c))),
        "schema": f"spec/{c.kind}" if c.kind in ("act", "rule", "meta", "vocabulary", "rounding", "parameter") else None,
        "rule_pages": [(rc.id, rel(page, page_of(rc.id))) for rc in site.rules_for(c)],
        "seeds": site.spec.meta.get("seeds", []) if c.kind == "meta" else [],
        "related": related, "unit_fr": unit_fr(d.get("unit")),
        "testable": bool(vectors or d.get("values") or d.get("requirements") or d.get("limits") or d.get("in_force")),
        "milestones": sorted(d.get("milestones") or [], key=lambda m: str(m.get("date"))) if c.kind == "meta" else [], "periods": periods, "parameters": parameters,
        "components": [x for x in d.get("components") or [] if isinstance(x, dict)],
    }


_YIELDS_FR = {"self": "cède devant", "other": "l'emporte sur", "both": "s'exclut avec"}


def relations_context(site: Site, c, page: str) -> list[dict]:
    """The concept's base acts and non-cumuls (spec/SEMANTIQUE.md § 2.3-2.4), its own, its rules', and those other
    acts declare about its code, each with the line that yields."""
    from convmed.claim_plan import declarations, non_cumul_index

    out = []
    if c.kind not in ("act", "rule"):
        return out
    owners = declarations(site.spec, c, "base") if c.kind == "act" else [(c, b) for b in c.data.get("base") or []]
    for owner, b in owners:
        codes = [site.link_code(page, k) for k in b.get("codes") or []] + [f"tout acte de catégorie {k}"
                                                                          for k in b.get("categories") or []]
        out.append({"kind": "base", "id": b["id"], "item": b, "text": f"**Acte de base** : {', '.join(codes)}",
                    "owner": owner.id, "owner_link": None if owner is c else rel(page, page_of(owner.id))})
    code = c.data.get("code")
    seen = set()
    relations = []
    if c.kind == "act":
        relations = [(owner, item, direction, others) for owner, item, direction, others in
                     non_cumul_index(site.spec).get(code, [])]
    else:
        relations = [(c, item, item["yields"], item["codes"]) for item in c.data.get("non_cumul") or []]
    for owner, item, direction, others in relations:
        key = (owner.id, item["id"])
        if key in seen:
            continue
        seen.add(key)
        names = ", ".join(site.link_code(page, k) for k in others)
        if direction == "both":
            text = f"**Non cumulable** avec {names} : les deux lignes sont refusées"
        elif c.kind == "rule":
            text = (f"**Non cumulable** avec {names} : " + ("l'acte de la règle n'est pas facturé" if direction == "self"
                                                            else f"{names} n'est pas facturé"))
        else:
            text = f"**Non cumulable** avec {names} : {code} n'est pas facturé (il cède)"
        if "unless" in item:
            try:
                text += f", sauf si {site.phrases.describe(item['unless'])}"
            except Exception:  # noqa: BLE001
                text += ", sauf exception (voir la règle)"
        out.append({"kind": "non_cumul", "id": item["id"], "item": item, "text": text, "owner": owner.id,
                    "owner_link": None if owner is c else rel(page, page_of(owner.id))})
    if c.kind == "act":
        # the relations in which this code wins (another code yields to it)
        for other_code, lst in sorted(non_cumul_index(site.spec).items()):
            for owner, item, direction, others in lst:
                if direction == "yields" and code in others and (owner.id, item["id"], other_code) not in seen:
                    seen.add((owner.id, item["id"], other_code))
                    out.append({"kind": "non_cumul", "id": item["id"], "item": item,
                                "text": f"**Non cumulable** avec {site.link_code(page, other_code)} : "
                                        f"{site.link_code(page, other_code)} n'est pas facturé, {code} l'est",
                                "owner": owner.id, "owner_link": None if owner is c else rel(page, page_of(owner.id))})
    return out


def family_page(family: str) -> str:
    return f"{GENERATED}/familles/{family or 'racine'}.md"


# ---------------------------------------------------------------- jinja

def _mdcell(text) -> str:
    return str("" if text is None else text).replace("|", "\\|").replace("\n", " ").strip()


_MD_SPECIAL = str.maketrans({**{c: "\\" + c for c in "\\`*_[]#"}, "<": "&lt;", "|": "&#124;"})


def _mdq(text) -> str:
    """Inline text shown verbatim: newlines folded, Markdown specials escaped."""
    return " ".join(str("" if text is None else text).split()).translate(_MD_SPECIAL)


def environment() -> Environment:
    env = Environment(loader=PackageLoader("convmed.docs", "templates"),
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True, autoescape=False)
    env.filters["mdcell"] = _mdcell
    env.filters["status_fr"] = status_fr
    env.filters["not_computed_fr"] = not_computed_fr
    env.filters["rel"] = rel
    env.filters["mdq"] = _mdq
    env.filters["expected"] = expected_summary
    return env


# ---------------------------------------------------------------- pages

def make_site(spec: Spec | None = None, today: date | None = None, vectors_root: Path | None = None) -> Site:
    spec = spec or load_spec()
    vectors, problems = load_vectors(vectors_root if vectors_root is not None else conformance_dir())
    site = Site(spec, today or reference_date(), vectors, problems, Phrasebook(spec))
    env = environment()

    def render(path: str, template: str, **ctx):
        site.pages[path] = env.get_template(template).render(site=site, page=path, **ctx)

    # concept pages
    for c in site.concepts():
        try:
            render(page_of(c.id), "concept.md.j2", **concept_context(site, c))
        except ConvmedError:
            raise
        except Exception as exc:  # noqa: BLE001 - a file the schema would refuse: say which, no traceback
            raise ConvmedError.single(f"page impossible à générer ({type(exc).__name__}: {exc}) ; lancez convmed spec check",
                                      file=str(c.path), line=1, code="docs-page") from None

    # families: every folder (and its ancestors) gets an index page
    families: dict[str, list] = {}
    for c in site.concepts():
        fam = site.family(c)
        families.setdefault(fam, []).append(c)
        parts = fam.split(".") if fam else []
        for i in range(len(parts)):
            families.setdefault(".".join(parts[:i]), [])
    for fam, members in sorted(families.items()):
        path = family_page(fam)
        children = sorted(f for f in families if f != fam and f.rsplit(".", 1)[0] == fam and (fam or "." not in f))
        if fam == "":
            children = sorted(f for f in families if f and "." not in f)
        rows = [{"c": m, "link": rel(path, page_of(m.id)), "title": site.title(m), "kind": KIND_FR.get(m.kind, m.kind),
                 "current": site.current(m)} for m in members]
        bars = [(site.short(r["c"]), Decimal(r["current"]["text"])) for r in rows
                if r["current"] and r["current"]["state"] == "value" and r["c"].kind == "parameter"]
        prefix = os.path.commonprefix([label for label, _ in bars])
        prefix = prefix[:prefix.rfind(": ") + 2] if ": " in prefix else ""
        bars = [(label[len(prefix):] or label, v) for label, v in bars]
        units = {r["c"].data.get("unit") for r in rows if r["c"].kind == "parameter"}
        plot = svg.bar_chart(f"{prefix.rstrip(': ') or folder_label(fam.rsplit('.', 1)[-1] or 'spec')} au "
                             f"{site.today.isoformat()}", bars, unit_fr(next(iter(units))) if len(units) == 1 else "") \
            if len(bars) >= 2 and len(units) == 1 else ""
        series = [(site.short(m), value_points(m)) for m in members
                  if m.kind == "act" and m.data.get("unit") == "EUR"
                  and sum(1 for _, v in value_points(m) if v is not None) >= 1]
        series.sort(key=lambda sv: (-len({v for _, v in sv[1] if v is not None}), sv[0]))
        if len(series) >= 2:
            plot = svg.multi_step_chart(f"Évolution des tarifs : {folder_label(fam.rsplit('.', 1)[-1])}", series[:10],
                                        max(site.today, date(2026, 12, 31)), "€") + plot
        render(path, "family.md.j2", fam=fam, label=" › ".join(folder_label(p) for p in fam.split(".")) if fam else "Tout le spec",
               rows=rows, plot=plot,
               children=[(folder_label(ch.rsplit(".", 1)[-1]), rel(path, family_page(ch)), len(families[ch])) for ch in children])

    # specialty and sector indexes
    render(f"{GENERATED}/specialites.md", "by_term.md.j2", **term_index(site, f"{GENERATED}/specialites.md", "specialties",
           {"doctor.specialty"}, "Par spécialité",
           "Les codes dont une exigence (propre ou commune) ou une valeur datée nomme la spécialité."))
    render(f"{GENERATED}/secteurs.md", "by_term.md.j2", **term_index(site, f"{GENERATED}/secteurs.md", "sectors",
           {"doctor.sector", "doctor.option", "doctor.optam", "line.tarif_opposable"}, "Par secteur",
           "Les codes dont une exigence nomme un secteur conventionnel, une option de pratique tarifaire maîtrisée "
           "ou la facturation à tarif opposable."))

    # timeline, changes between consecutive milestones
    milestones = sorted(spec.meta.get("milestones", []), key=lambda m: str(m["date"]))
    mdates = [date.fromisoformat(str(m["date"])) for m in milestones]
    starts: dict[date, list] = {}
    for c in site.concepts():
        for row, e in zip(history_rows(site, c), timeline_of(c).entries if isinstance(c.data.get("values"), list) else []):
            if not e.uncertain:
                starts.setdefault(e.lo, []).append((c, row))
    path = f"{GENERATED}/calendrier.md"
    plot = svg.timeline("Calendrier : jalons et nombre de valeurs qui commencent à chaque date",
                        [(d, m["label"]) for d, m in zip(mdates, milestones)],
                        {d: len(v) for d, v in starts.items()})
    render(path, "timeline.md.j2", milestones=list(zip(mdates, milestones)), plot=plot,
           starts=[(d, [(c, row, rel(path, page_of(c.id))) for c, row in items]) for d, items in sorted(starts.items())])
    pairs = list(zip(mdates, mdates[1:]))
    change_pages = []
    for d1, d2 in pairs:
        p = f"{GENERATED}/changements/{d1.isoformat()}_{d2.isoformat()}.md"
        result = diff(spec, d1, d2)
        body = render_markdown(result, link=lambda cid, p=p: rel(p, page_of(cid)) if cid in spec.concepts else None)
        m2 = milestones[mdates.index(d2)]
        render(p, "changes.md.j2", d1=d1, d2=d2, result=result, body=body, milestone=m2)
        change_pages.append((d1, d2, p, len(result["changes"]), len(result["requirements"])))
    render(f"{GENERATED}/changements/index.md", "changes_index.md.j2",
           pairs=[(d1, d2, rel(f"{GENERATED}/changements/index.md", p), n, r) for d1, d2, p, n, r in change_pages])

    # conflicts, gaps, coverage, schemas
    path = f"{GENERATED}/conflits.md"
    conflicts = sorted(((c, ptr, n["conflict"], n, rel(path, page_of(c.id))) for c in site.concepts()
                        for ptr, n in walk_conflicts(c.data)),
                       key=lambda t: (int("".join(ch for ch in str(t[2].get("id")) if ch.isdigit()) or 0), str(t[2].get("id")), t[0].id))
    render(path, "conflicts.md.j2", conflicts=conflicts)
    path = f"{GENERATED}/lacunes.md"
    gaps = [(c, row, rel(path, page_of(c.id))) for c in site.concepts() for row in history_rows(site, c) if row["value"] == "lacune"]
    gaps += [(c, {"from": g.get("id", ""), "scope": "dispositif", "notes": [("lacune", g["gap"].get("note", "")),
                                                                            ("renvoi", g["gap"].get("points_to", ""))]},
              rel(path, page_of(c.id)))
             for c in site.concepts() for g in c.data.get("gaps") or []
             if isinstance(g, dict) and isinstance(g.get("gap"), dict)]
    render(path, "gaps.md.j2", gaps=gaps)
    render(f"{GENERATED}/couverture.md", "coverage.md.j2", **coverage(site, f"{GENERATED}/couverture.md"))
    schemas_pages(site, env)

    # fragments for hand-written pages
    site.fragments["signataires"] = env.get_template("fragment_signatories.md.j2").render(
        site=site, signatories=[dict(s, short=seed_short(spec, s["seed"])) for s in SIGNATORIES])
    site.fragments["calendrier"] = env.get_template("fragment_calendar.md.j2").render(
        site=site, milestones=list(zip(mdates, milestones)), plot=plot)
    site.fragments["chiffres"] = env.get_template("fragment_figures.md.j2").render(
        site=site, n_concepts=len(spec.concepts), n_acts=len(spec.of_kind("act")),
        n_conflicts=len(conflicts), n_gaps=len(gaps), n_vectors=len(site.vectors))

    # navigation: families only (concept pages are reached from their family page and by search; listing
    # hundreds of concepts in the nav would copy the whole list into every page)
    def fam_nav(fam: str, depth: int = 0):
        children = sorted(f for f in families if f and f != fam and (f.rsplit(".", 1)[0] if "." in f else "") == fam)
        if depth >= 2 or not children:
            return family_page(fam)
        items = [{"Vue d'ensemble": family_page(fam)}]
        for ch in children:
            items.append({folder_label(ch.rsplit(".", 1)[-1]): fam_nav(ch, depth + 1)})
        return items

    site.pages[SEMANTICS_PAGE] = semantics_page(spec)
    site.nav = [
        {"Sémantique de référence": SEMANTICS_PAGE},
        {"Concepts": fam_nav("")},
        {"Index": [{"Par spécialité": f"{GENERATED}/specialites.md"}, {"Par secteur": f"{GENERATED}/secteurs.md"}]},
        {"Calendrier": f"{GENERATED}/calendrier.md"},
        {"Ce qui change": [{"Vue d'ensemble": f"{GENERATED}/changements/index.md"}]
         + [{f"{d1.strftime('%d/%m/%Y')} → {d2.strftime('%d/%m/%Y')}": p} for d1, d2, p, _, _ in change_pages]},
        {"Conflits": f"{GENERATED}/conflits.md"},
        {"Lacunes": f"{GENERATED}/lacunes.md"},
        {"Couverture par les vecteurs": f"{GENERATED}/couverture.md"},
        {"Schémas JSON": f"{GENERATED}/schemas/index.md"},  # each schema page is linked from there
    ]
    return site


def term_index(site: Site, path: str, vocab: str, facts: set[str], title: str, intro: str) -> dict:
    terms = site.spec.vocabulary(vocab)
    found: dict[str, list] = {}
    optam_terms = {"OPTAM", "OPTAM_ACO", "OPTAM_CO", "CAS"}
    for c in site.concepts():
        if c.kind != "act" and not c.data.get("requirements"):
            continue
        reqs = list(c.data.get("requirements") or []) + [r for rc in site.rules_for(c) for r in rc.data.get("requirements") or []]
        for r in reqs:
            if not isinstance(r, dict):
                continue
            mentions = condition_mentions(r.get("condition"), facts)
            if not mentions:
                continue
            try:
                plain = site.phrases.describe(r.get("condition"))
            except Exception:  # noqa: BLE001
                plain = ""
            for t in mentions:
                keys = optam_terms if t == "doctor.optam=true" else {"tarif_opposable"} if t == "line.tarif_opposable=true" else {t}
                for k in keys:
                    found.setdefault(k, []).append((c, r.get("id"), r.get("description", ""), rel(path, page_of(c.id)), plain))
        if vocab == "specialties":
            for e in c.data.get("values") or []:
                for s in (e.get("specialties") or []) if isinstance(e, dict) else []:
                    found.setdefault(s, []).append((c, "valeur", f"valeur propre à la spécialité depuis {entry_start(e)}",
                                                    rel(path, page_of(c.id)), f"valeur {entry_value_text(e)}"))
    groups = []
    order = {k: i for i, k in enumerate(terms)}
    for tid, items in sorted(found.items(), key=lambda kv: (kv[0] not in terms, order.get(kv[0], 0), kv[0])):
        label = terms.get(tid, {}).get("label") or ("Facturation à tarif opposable" if tid == "tarif_opposable" else tid)
        seen, rows = set(), []
        for c, rid, desc, link, plain in items:
            if (c.id, rid) in seen:
                continue
            seen.add((c.id, rid))
            rows.append({"c": c, "short": site.short(c), "rid": rid, "desc": desc, "link": link, "plain": plain})
        groups.append({"id": tid, "label": label, "rows": rows})
    return {"title": title, "intro": intro, "groups": groups,
            "unused": [(k, v.get("label")) for k, v in terms.items() if k not in found]}


def coverage(site: Site, path: str) -> dict:
    files = sorted({v.file for v in site.vectors})
    rows = []
    for c in site.concepts():
        ids = []
        if c.kind in ("act", "parameter") or (c.kind not in KIND_FR and isinstance(c.data.get("values"), list)):
            ids.append(c.ref)
        for section in RULE_SECTIONS:
            for r in c.data.get(section) or []:
                if isinstance(r, dict) and r.get("id"):
                    ids.append(f"{c.ref}#{r['id']}")
        for rid in ids:
            counts = [sum(1 for v in site.vectors if v.file == f and (rid in v.rules if "#" in rid else vector_names(v, rid)))
                      for f in files]
            rows.append({"id": rid, "link": rel(path, page_of(c.id)), "counts": counts, "total": sum(counts),
                         "family": c.id.rsplit(".", 1)[0]})
    covered = sum(1 for r in rows if r["total"])
    sections = []
    for fam in sorted({r["family"] for r in rows}):
        members = [r for r in rows if r["family"] == fam]
        used = [i for i, _ in enumerate(files) if any(r["counts"][i] for r in members)]
        sections.append({"family": fam, "files": [files[i].split("/")[-1].removesuffix(".json") for i in used],
                         "rows": [dict(r, counts=[r["counts"][i] for i in used]) for r in members],
                         "covered": sum(1 for r in members if r["total"])})
    return {"files": files, "rows": rows, "covered": covered, "problems": site.vector_problems, "sections": sections,
            "unknown": sorted({r for v in site.vectors for r in v.rules if site.spec.citation_problem(r)})}


def schemas_pages(site: Site, env: Environment) -> list:
    root = schemas_dir()
    nav = []
    index = f"{GENERATED}/schemas/index.md"
    listing = []
    for path in sorted(root.rglob("*.schema.json")):
        relname = path.relative_to(root).as_posix()
        page = f"{GENERATED}/schemas/{relname.replace('.schema.json', '')}.md"
        try:
            schema = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            continue
        props = []
        required = set(schema.get("required", []))
        for name, p in (schema.get("properties") or {}).items():
            typ = p.get("type") or ("enum" if "enum" in p else "const" if "const" in p else
                                    p.get("$ref", "").split("#")[-1] or "")
            detail = ", ".join(map(str, p["enum"])) if "enum" in p else (f"= {p['const']}" if "const" in p else "")
            props.append({"name": name, "type": typ if isinstance(typ, str) else " | ".join(typ),
                          "required": name in required, "description": p.get("description", ""), "detail": detail})
        defs = [{"name": k, "description": v.get("description", "") if isinstance(v, dict) else ""}
                for k, v in (schema.get("$defs") or {}).items()]
        site.pages[page] = env.get_template("schema.md.j2").render(
            site=site, page=page, name=relname, schema=schema, props=props, defs=defs,
            text=json.dumps(schema, ensure_ascii=False, indent=2))
        nav.append({relname: page})
        listing.append((relname, rel(index, page), schema.get("title", "")))
    site.pages[index] = env.get_template("schemas_index.md.j2").render(site=site, page=index, listing=listing)
    return nav


# ---------------------------------------------------------------- writing and building

def write_pages(site: Site, docs_dir: Path) -> list[Path]:
    """Write the generated pages under docs_dir/generated, touching only files whose text changed."""
    out = docs_dir / GENERATED
    wanted = {out.parent / p for p in site.pages}
    written = []
    for rel_path, text in site.pages.items():
        target = docs_dir / rel_path
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
        written.append(target)
    if out.is_dir():  # remove pages of concepts that no longer exist
        for old in sorted(out.rglob("*"), reverse=True):
            if old.is_file() and old not in wanted:
                old.unlink()
            elif old.is_dir() and not any(old.iterdir()):
                old.rmdir()
    return written


def generate_pages(docs_dir: Path, spec: Spec | None = None) -> list[Path]:
    return write_pages(make_site(spec), docs_dir)


def build_site(config: Path, site_dir: Path | None = None, strict: bool = True) -> Path:
    """Run `mkdocs build` (the hook in mkdocs.yml generates the pages first)."""
    try:
        import mkdocs  # noqa: F401
        import material  # noqa: F401
    except ImportError:
        raise ConvmedError.single("mkdocs-material n'est pas installé : pip install -e '.[docs]'", code="missing-dependency") from None
    if not config.is_file():
        raise ConvmedError.single("fichier de configuration mkdocs introuvable", file=str(config), code="io")
    load_spec()  # a spec that cannot be read: a located ConvmedError here (exit 2), before mkdocs starts
    site = (site_dir or config.parent / "site").resolve()
    cmd = [sys.executable, "-m", "mkdocs", "build", "-f", str(config), "-d", str(site)]
    if strict:
        cmd.append("--strict")
    proc = subprocess.run(cmd, cwd=config.parent)
    if proc.returncode != 0:
        raise ConvmedError.single(f"mkdocs build a échoué (statut {proc.returncode}) ; voir les messages ci-dessus",
                                  file=str(config), code="docs-build")
    return site


def clean(docs_dir: Path) -> None:
    shutil.rmtree(docs_dir / GENERATED, ignore_errors=True)
