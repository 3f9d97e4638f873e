"""The documentation site generated from the spec (issue 6).

The site is built once per session into a temporary directory (a copy of docs/ and a
mkdocs.yml pointing at it), so the tests never write into the shared working tree.
Expected values are read from the spec's YAML with PyYAML directly, and from the
seeds (G = 30 € from 22 December 2024, slide 000 / page 001), never from the generator.
"""

from __future__ import annotations

import functools
import html
import json
import os
import re
import shutil
import subprocess
import sys
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree

import pytest
import yaml

from convmed.paths import repo_root, seeds_dir, spec_dir

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
REPO = repo_root()
SPEC = spec_dir()
DOCS_DATE = "2025-06-01"

pytest.importorskip("mkdocs", reason="mkdocs-material absent : pip install -e '.[docs]'")
pytest.importorskip("material", reason="mkdocs-material absent : pip install -e '.[docs]'")


@functools.lru_cache(maxsize=4)
def spec_yaml(root: Path = SPEC) -> dict[str, dict]:
    """Every spec file, read independently of convmed (id -> data)."""
    out = {}
    for path in sorted(root.rglob("*.yaml")):
        rel = path.relative_to(root)
        if any(p.startswith((".", "_")) for p in rel.parts):
            continue
        out[".".join(rel.with_suffix("").parts)] = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
    return out


_BUILT: dict[str, Path] = {}


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Path:
    return build_once(tmp_path_factory)


def build_once(tmp_path_factory) -> Path:
    """docs/ copied to a temporary folder, pages generated and the site built with mkdocs --strict.

    The spec and the vectors are snapshotted too (CONVMED_SPEC, CONVMED_CONFORMANCE): other engineers
    edit them while the tests run, and the tests compare the site with the snapshot it was built from.
    """
    if "root" in _BUILT:
        return _BUILT["root"]
    tmp = tmp_path_factory.mktemp("docs_site")
    shutil.copytree(SPEC, tmp / "spec")
    shutil.copytree(REPO / "conformance_tests", tmp / "conformance_tests")
    docs = tmp / "docs"
    shutil.copytree(REPO / "docs", docs, ignore=shutil.ignore_patterns("generated"))
    config = yaml.safe_load((REPO / "mkdocs.yml").read_text(encoding="utf-8"))
    config["docs_dir"] = str(docs)
    config["site_dir"] = str(tmp / "site")
    config["hooks"] = [str(REPO / h) for h in config["hooks"]]
    (tmp / "mkdocs.yml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    env = dict(os.environ, CONVMED_DOCS_DATE=DOCS_DATE, NO_MKDOCS_2_WARNING="1", CONVMED_SPEC=str(tmp / "spec"),
               CONVMED_CONFORMANCE=str(tmp / "conformance_tests"))
    proc = subprocess.run([sys.executable, "-m", "convmed", "docs", "build", "--config", str(tmp / "mkdocs.yml"),
                           "--site-dir", str(tmp / "site")], cwd=tmp, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, f"convmed docs build (mkdocs --strict) failed:\n{proc.stdout}\n{proc.stderr[-4000:]}"
    _BUILT["root"] = tmp
    return tmp


def page_path(root: Path, concept_id: str) -> Path:
    return root / "site" / "generated" / "concepts" / Path(*concept_id.split(".")) / "index.html"


class HistoryParser(HTMLParser):
    """Rows of <table class="convmed-history">: attributes, seeds and quotes."""

    def __init__(self):
        super().__init__()
        self.tables: list[dict] = []
        self.rows: list[dict] | None = None
        self._in_quote = False
        self._in_from = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = a.get("class") or ""
        if tag == "table" and "convmed-history" in cls:
            self.rows = []
            self.tables.append({"concept": a.get("data-concept"), "rows": self.rows})
        elif self.rows is not None and tag == "tr" and "data-entry" in a:
            self.rows.append({"entry": int(a["data-entry"]), "from": a["data-from"], "value": a["data-value"],
                              "status": a["data-status"], "seeds": [], "quotes": [], "from_text": ""})
        elif self.rows and tag == "div" and "convmed-source" in cls:
            self.rows[-1]["seeds"].append(a.get("data-seed"))
        elif self.rows and tag == "blockquote" and "convmed-quote" in cls:
            self._in_quote = True
            self.rows[-1]["quotes"].append("")
        elif self.rows and tag == "td" and "convmed-from" in cls:
            self._in_from = True

    def handle_endtag(self, tag):
        if tag == "table":
            self.rows = None
        elif tag == "blockquote":
            self._in_quote = False
        elif tag == "td":
            self._in_from = False

    def handle_data(self, data):
        if self._in_quote and self.rows:
            self.rows[-1]["quotes"][-1] += data
        if self._in_from and self.rows:
            self.rows[-1]["from_text"] += data


def history(path: Path) -> list[dict]:
    p = HistoryParser()
    p.feed(path.read_text(encoding="utf-8"))
    return p.tables


def norm(text: str) -> str:
    return " ".join(str(text).split())


def expected_value(entry: dict) -> str:
    if "value" in entry:
        return entry["value"]
    if "gap" in entry:
        return "lacune"
    return "supprimé"


# ---------------------------------------------------------------- pages

def test_every_concept_has_its_page(built):
    concepts = spec_yaml(built / "spec")
    assert "acts.consultations.G" in concepts and "meta" in concepts
    missing = [cid for cid in concepts if not page_path(built, cid).is_file()]
    assert not missing, f"concepts without a page: {missing}"
    for cid in concepts:
        md = built / "docs" / "generated" / "concepts" / Path(*cid.split("."))
        assert md.with_suffix(".md").is_file(), cid


def test_every_history_table_matches_the_spec(built):
    checked = 0
    for cid, data in spec_yaml(built / "spec").items():
        values = data.get("values")
        tables = history(page_path(built, cid))
        if not values:
            assert not tables, f"{cid}: a history table without values"
            continue
        assert len(tables) == 1 and tables[0]["concept"] == cid, cid
        rows = tables[0]["rows"]
        assert [r["entry"] for r in rows] == list(range(len(values))), cid
        for row, entry in zip(rows, values):
            where = f"{cid} values[{row['entry']}]"
            assert row["value"] == expected_value(entry), where
            assert row["status"] == (entry.get("status") or ""), where
            start = entry["from"]
            if isinstance(start, dict):
                for key in ("not_before", "in_force_by"):
                    if start.get(key):
                        assert str(start[key]) in row["from_text"], where
                assert "incertaine" in row["from_text"], where
            else:
                assert norm(row["from_text"]) == str(start), where
            sources = entry.get("sources") or []
            assert row["seeds"] == [s["seed"] for s in sources], where
            assert [norm(q) for q in row["quotes"]] == [norm(s["quote"]) for s in sources], where
            checked += 1
    assert checked >= 2


def test_g_page_shows_30_from_22_december_2024_with_its_quote(built):
    page = page_path(built, "acts.consultations.G")
    (table,) = history(page)
    rows = [r for r in table["rows"] if r["from"] == "2024-12-22"]
    assert len(rows) == 1
    row = rows[0]
    assert row["value"] == "30.00" and row["status"] == "signed"
    # 000, slide « 1° La revalorisation de la consultation de base (G) »: « G = 30 € »
    assert "000_faed2a3a0097973c.txt" in row["seeds"]
    assert "G = 30 €" in [norm(q) for q in row["quotes"]]
    text = html.unescape(re.sub(r"<[^>]+>", " ", page.read_text(encoding="utf-8")))
    assert re.search(r"Au 2025-06-01 :\s+30\.00\s+€, depuis le 2024-12-22", norm(text))
    # the conditions in plain French, from the declarative requirements
    assert "SECTOR_NOT_ELIGIBLE" in text and "secteur conventionnel vaut S1" in norm(text)
    assert "doctor.sector ∈ {S1}" in text


def test_g_plot_is_wellformed_svg(built):
    text = page_path(built, "acts.consultations.G").read_text(encoding="utf-8")
    svgs = re.findall(r"<svg [^>]*class=\"convmed-plot\".*?</svg>", text, flags=re.S)
    assert svgs, "no plot on G's page"
    root = ElementTree.fromstring(svgs[0])
    labels = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "30" in labels  # the step at 30 €


def test_home_page_quotes_signatories_and_calendar(built):
    text = norm(html.unescape(re.sub(r"<[^>]+>", " ", (built / "site" / "index.html").read_text(encoding="utf-8"))))
    assert "Seul le syndicat UFML-S n’a pas signé." in text
    assert "MG France" in text and "Avenir Spé" in text
    meta = spec_yaml(built / "spec")["meta"]
    for m in meta["milestones"]:
        assert date.fromisoformat(str(m["date"])).strftime("%d/%m/%Y") in text


def test_search_is_configured_for_french_and_links_the_vendor_guide(built):
    index = json.loads((built / "site" / "search" / "search_index.json").read_text(encoding="utf-8"))
    assert index["config"]["lang"] == ["fr"]
    assert any(d["location"].startswith("generated/concepts/acts/consultations/G/") for d in index["docs"])
    home = (built / "site" / "index.html").read_text(encoding="utf-8")
    if (built / "docs" / "vendor-guide.md").is_file():
        assert 'href="vendor-guide/"' in home
    else:
        assert "Aucun guide rédigé" in home


def test_home_page_quotes_occur_in_the_seeds():
    from convmed.docs.build import SIGNATORIES
    from convmed.quotes import quote_in_seed

    seeds = seeds_dir()
    if seeds is None:
        pytest.skip("seeds absentes (CONVMED_SOURCES) : citations de l'accueil non vérifiées")
    for s in SIGNATORIES:
        assert quote_in_seed(s["quote"], seeds / s["seed"]), s["quote"]


def test_index_pages_exist_and_link_g(built):
    site = built / "site" / "generated"
    for page in ("specialites", "secteurs", "calendrier", "conflits", "lacunes", "couverture", "changements",
                 "schemas", "familles/racine", "familles/acts.consultations"):
        assert (site / page / "index.html").is_file(), page
    specialties = (site / "specialites" / "index.html").read_text(encoding="utf-8")
    section = specialties.split('id="medecine-generale"')[1].split("<h2")[0]
    assert "concepts/acts/consultations/G/" in section
    sectors = (site / "secteurs" / "index.html").read_text(encoding="utf-8")
    assert "concepts/acts/consultations/G/" in sectors.split('id="s1"')[1].split("<h2")[0]
    gaps = (site / "lacunes" / "index.html").read_text(encoding="utf-8")
    assert "concepts/acts/consultations/G/" in gaps  # the amount before 22 Dec 2024 is a gap
    schemas = sorted(p.relative_to(REPO / "schemas") for p in (REPO / "schemas").rglob("*.schema.json"))
    for s in schemas:
        assert (site / "schemas" / str(s).replace(".schema.json", "") / "index.html").is_file(), s


def test_changes_page_between_consecutive_milestones_lists_g(built):
    page = built / "site" / "generated" / "changements" / "2024-06-22_2024-12-22" / "index.html"
    text = page.read_text(encoding="utf-8")
    row = [r for r in text.split("<tr>")[1:] if "concepts/acts/consultations/G/" in r]
    assert len(row) == 1 and "30.00" in row[0] and "2024-12-22" in row[0]


def test_coverage_matrix_counts_vectors_naming_g(built):
    vectors = []
    for path in sorted((built / "conformance_tests").glob("v*/*.json")):
        for case in json.loads(path.read_text(encoding="utf-8")).get("cases", []):
            if any(r == "G" or r.startswith("G#") for r in case.get("rules", [])):   # G cited by its code
                vectors.append(case["id"])
    page = page_path(built, "acts.consultations.G").read_text(encoding="utf-8")
    for vid in vectors:
        assert vid in page, vid
    assert len(vectors) > 20   # the suite names G in many vectors (SEMANTIQUE § 7.1 citations)
    # the coverage matrix: G's row totals the cases that name G or one of its requirements
    matrix = (built / "docs" / "generated" / "couverture.md").read_text(encoding="utf-8")
    (row,) = [ln for ln in matrix.splitlines() if ln.startswith("| [`G`]")]
    total = row.rstrip(" |").rsplit("|", 1)[-1].strip().strip("*")
    assert int(total) == len(vectors)


def _conflicts_in(obj) -> list[str]:
    found = []
    if isinstance(obj, dict):
        if isinstance(obj.get("conflict"), dict):
            found.append(obj["conflict"]["id"])
        for v in obj.values():
            found += _conflicts_in(v)
    elif isinstance(obj, list):
        for v in obj:
            found += _conflicts_in(v)
    return found


def test_conflicts_and_gaps_pages_list_every_one(built):
    data = spec_yaml(built / "spec")
    conflicts = sorted(cid for d in data.values() for cid in _conflicts_in(d))
    page = (built / "docs" / "generated" / "conflits.md").read_text(encoding="utf-8")
    headings = sorted(m.group(1) for m in re.finditer(r"^## (C-[0-9]+[a-z]?) — ", page, flags=re.M))
    assert headings == conflicts
    gaps = sum(1 for d in data.values() for e in d.get("values") or [] if isinstance(e, dict) and "gap" in e)
    gaps += sum(1 for d in data.values() for g in d.get("gaps") or [] if isinstance(g, dict) and "gap" in g)
    page = (built / "docs" / "generated" / "lacunes.md").read_text(encoding="utf-8")
    assert sum(1 for ln in page.splitlines() if ln.startswith("| [")) == gaps


def test_non_cumul_and_base_acts_are_listed_on_each_code_page(built):
    """Each declared non-cumul is shown on the page of the code that declares it and on the pages of the codes it
    names, with the line that yields (SEMANTIQUE.md § 2.4); each base act on its majoration's page."""
    def page(code_id):
        return (built / "docs" / "generated" / "concepts" / Path(*code_id.split("."))).with_suffix(".md").read_text(
            encoding="utf-8")

    acts = {d["code"]: cid for cid, d in spec_yaml(built / "spec").items() if d.get("kind") == "act"}
    checked = 0
    for cid, data in spec_yaml(built / "spec").items():
        if data.get("kind") != "act":
            continue
        text = page(cid)
        for item in data.get("non_cumul") or []:
            lines = [ln for ln in text.splitlines() if ln.startswith("- **Non cumulable**") and f"`{item['id']}`" in ln]
            assert lines, (cid, item["id"])
            for code in item["codes"]:
                assert any(re.search(rf"\[{re.escape(code)}\]\(", ln) for ln in lines), (cid, code)
                other = [ln for ln in page(acts[code]).splitlines()
                         if ln.startswith("- **Non cumulable**") and f"`{item['id']}`" in ln and f"[{data['code']}](" in ln]
                assert other, (code, cid, item["id"])
                checked += 1
        for item in data.get("base") or []:
            line = [ln for ln in text.splitlines() if ln.startswith("- **Acte de base**") and f"`{item['id']}`" in ln]
            assert line, (cid, item["id"])
            for code in item.get("codes", []):
                assert f"[{code}](" in line[0], (cid, code)
    assert checked > 10


# ---------------------------------------------------------------- diff

def run_diff(*args) -> subprocess.CompletedProcess:
    """`convmed diff ...` in-process (the spec is loaded once, cached): exit status, stdout, stderr."""
    import contextlib
    import io

    from convmed.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["diff", *args])
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="module")
def diff_2024_2026(built) -> dict:
    proc = run_diff("--from", "2024-12-21", "--to", "2026-01-01", "--format", "json", "--spec", str(built / "spec"))
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_diff_lists_g(diff_2024_2026):
    g = [c for c in diff_2024_2026["changes"] if c["id"] == "acts.consultations.G" and c["territory"] == "metropole"
         and c["specialty"] is None]
    assert len(g) == 1
    assert g[0]["before"]["state"] == "gap"  # the seeds do not give G before the revaluation
    assert g[0]["after"] == {**g[0]["after"], "state": "value", "value": "30.00", "from": "2024-12-22", "status": "signed"}


def test_diff_lists_gl_when_present(diff_2024_2026, built):
    gl = sorted(d["code"] for d in spec_yaml(built / "spec").values() if re.fullmatch(r"GL[0-9]*", str(d.get("code", ""))))
    if not gl:
        pytest.skip("GL n'est pas encore dans le spec (issue des actes) : test actif dès son ajout")
    listed = {c["code"]: c for c in diff_2024_2026["changes"] if c.get("code") in gl and c["territory"] == "metropole"}
    assert sorted(listed) == gl
    # 000: « GL = 60 € », « Consultation longue du médecin traitant (GL) : 60 € (1er janvier 2026) »
    for code in gl:
        assert listed[code]["after"]["state"] == "value" and listed[code]["after"]["value"] == "60.00", code


def test_diff_lists_fmt_when_present(diff_2024_2026, built):
    socle = [cid for cid, data in spec_yaml(built / "spec").items()
             if cid.startswith("forfaits.fmt.socle.") and data.get("kind") == "parameter"]
    if not socle:
        pytest.skip("le FMT n'est pas encore dans le spec (issue des forfaits) : test actif dès son ajout")
    listed = {c["id"]: c for c in diff_2024_2026["changes"]}
    # the new FMT starts on 1 January 2026 (001: « Nouveau forfait médecin traitant (FMT)1er janvier 2026 »)
    assert set(socle) <= set(listed)
    if "forfaits.fmt.scheme" in spec_yaml(built / "spec"):
        assert listed["forfaits.fmt.scheme"]["change"] == "appeared"
        assert listed["forfaits.fmt.scheme"]["after"]["from"] == "2026-01-01"


def test_diff_text_and_markdown_formats():
    text = run_diff("--from", "2024-12-21", "--to", "2026-01-01")
    assert text.returncode == 0
    line = [ln for ln in text.stdout.splitlines() if ln.strip().startswith("G ")]
    assert line and "lacune -> 30.00" in line[0]
    md = run_diff("--from", "2024-12-21", "--to", "2026-01-01", "--format", "markdown")
    assert md.returncode == 0
    assert any(ln.startswith("| `G`") and "| 30.00 |" in ln for ln in md.stdout.splitlines())


def test_diff_same_state_reports_nothing_for_g():
    proc = run_diff("--from", "2025-01-10", "--to", "2025-06-30", "--format", "json")
    assert proc.returncode == 0
    assert not [c for c in json.loads(proc.stdout)["changes"] if c["id"] == "acts.consultations.G"]


@pytest.mark.parametrize("args", [("--from", "2024-13-01", "--to", "2025-01-01"),
                                  ("--from", "2025-01-01", "--to", "2024-01-01"),
                                  ("--from", "2025-01-01", "--to", "2025-01-01")])
def test_diff_bad_dates_exit_2_without_traceback(args):
    proc = run_diff(*args)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "--from" in proc.stderr


# ---------------------------------------------------------------- genericity

def test_unknown_kind_gets_a_generic_page(tmp_path):
    from convmed.docs.build import make_site, page_of
    from convmed.model import load_spec_uncached

    spec_copy = tmp_path / "spec"
    shutil.copytree(SPEC, spec_copy)
    (spec_copy / "schemes").mkdir()
    (spec_copy / "schemes" / "demo.yaml").write_text(
        "kind: scheme\nlabel: Dispositif de démonstration\nformula: socle_plus_majorations\n"
        "values:\n  - from: 2026-01-01\n    value: \"42.00\"\n    status: signed\n"
        "    sources: [{seed: 001_ab5cae78f2c1ff08.txt, path: [x], quote: \"Nouveau forfait médecin traitant\"}]\n",
        encoding="utf-8")
    site = make_site(load_spec_uncached(spec_copy), today=date(2026, 6, 1), vectors_root=tmp_path / "none")
    page = site.pages[page_of("schemes.demo")]
    assert "Dispositif de démonstration" in page
    assert 'data-value="42.00"' in page and "Autres champs" in page and "socle_plus_majorations" in page
    assert site.pages["generated/familles/schemes.md"].count("schemes/demo.md") == 1


# ---------------------------------------------------------------- bad input

@pytest.fixture
def broken_spec(tmp_path) -> Path:
    root = tmp_path / "spec"
    shutil.copytree(SPEC, root)
    (root / "acts" / "broken.yaml").write_text("kind: act\ncode: [oops\n", encoding="utf-8")
    return root


@pytest.mark.parametrize("command", [("docs", "build"),
                                     ("diff", "--from", "2024-01-01", "--to", "2025-01-01")])
def test_broken_spec_is_a_located_error_exit_2(broken_spec, tmp_path, command):
    env = dict(os.environ, CONVMED_SPEC=str(broken_spec))
    args = list(command)
    if command[:2] == ("docs", "build"):
        # a throwaway config so the shared docs/ folder is never written
        (tmp_path / "docs").mkdir()
        (tmp_path / "mkdocs.yml").write_text(f"site_name: t\ndocs_dir: {tmp_path / 'docs'}\n", encoding="utf-8")
        args += ["--config", str(tmp_path / "mkdocs.yml"), "--site-dir", str(tmp_path / "site")]
    proc = subprocess.run([sys.executable, "-m", "convmed", *args], capture_output=True, text=True, env=env)
    assert proc.returncode == 2, proc.stderr
    assert "broken.yaml:" in proc.stderr and "[yaml]" in proc.stderr and "Traceback" not in proc.stderr


def test_unreadable_vector_file_is_reported_not_fatal(tmp_path):
    from convmed.docs.build import load_vectors

    (tmp_path / "v1").mkdir()
    (tmp_path / "v1" / "bad.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "v1" / "ok.json").write_text(json.dumps({"family": "x", "description": "d", "cases": [
        {"id": "x.a", "description": "d", "level": "required", "rules": ["acts.consultations.G"], "kind": "claim",
         "input": {}, "expected": {"lines": [{"code": "G", "status": "priced", "amount": "30.00"}]}}]}), encoding="utf-8")
    vectors, problems = load_vectors(tmp_path)
    assert [v.id for v in vectors] == ["x.a"]
    assert len(problems) == 1 and "bad.json" in problems[0]
