"""mkdocs hook (declared in mkdocs.yml): generate the pages from the spec before mkdocs reads docs/.

- on_config: writes docs/generated/ and sets the navigation (hand-written pages, then generated ones);
- on_page_markdown: replaces `<!-- convmed:NAME -->` markers of hand-written pages with generated fragments
  (signatories, calendar, figures, guides).
"""

from __future__ import annotations

import re
from pathlib import Path

_FRAGMENTS: dict[str, str] = {}
_MARKER = re.compile(r"<!--\s*convmed:([a-z_]+)\s*-->")

HAND_WRITTEN_FIRST = [("Accueil", "index.md"), ("Lire ce site", "lecture.md")]
HAND_WRITTEN_TITLES = {"vendor-guide.md": "Guide des éditeurs"}


def _title(path: Path) -> str:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return path.stem.replace("-", " ").capitalize()


def on_config(config, **kwargs):
    from convmed.docs.build import GENERATED, make_site, write_pages

    from mkdocs.exceptions import PluginError

    from convmed.errors import ConvmedError

    docs_dir = Path(config["docs_dir"])
    try:
        site = make_site()
    except ConvmedError as exc:
        raise PluginError("convmed : le spec ne peut pas être lu\n" + str(exc)) from None
    write_pages(site, docs_dir)
    nav = [{label: name} for label, name in HAND_WRITTEN_FIRST if (docs_dir / name).is_file()]
    first = {name for _, name in HAND_WRITTEN_FIRST}
    guides = []
    for path in sorted(docs_dir.rglob("*.md")):
        relname = path.relative_to(docs_dir).as_posix()
        if relname in first or relname.startswith(GENERATED + "/"):
            continue
        guides.append({HAND_WRITTEN_TITLES.get(relname) or _title(path): relname})
    nav += site.nav
    if guides:
        nav.append({"Guides": guides})
    config["nav"] = nav
    _FRAGMENTS.clear()
    _FRAGMENTS.update(site.fragments)
    links = "\n".join(f"- [{label}]({name})" for g in guides for label, name in g.items())
    _FRAGMENTS["guides"] = links or "Aucun guide rédigé pour l'instant."
    return config


def on_page_markdown(markdown, page, config, files, **kwargs):
    def fill(m):
        name = m.group(1)
        if name not in _FRAGMENTS:
            from convmed.errors import ConvmedError

            raise ConvmedError.single(f"fragment inconnu « {name} »", file=page.file.src_path, code="docs-fragment")
        return _FRAGMENTS[name]

    return _MARKER.sub(fill, markdown)
