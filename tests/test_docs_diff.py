"""The `convmed diff` engine on a small synthetic spec: every kind of change it must report.

The synthetic files are written here (values invented for the engine's semantics only,
not convention values); the real-spec checks (G, GL, FMT) are in test_docs_site.py.
"""

from __future__ import annotations

from datetime import date

import pytest

from convmed.diff import diff, render_markdown, render_text
from convmed.errors import ConvmedError
from convmed.model import load_spec_uncached

SRC = "sources: [{seed: 001_ab5cae78f2c1ff08.txt, path: [x], quote: abc}]"

FILES = {
    "meta.yaml": "kind: meta\nspec_version: 9.9.9\ntitle: t\nprecedence: [signed]\nseeds: []\nmilestones: []\n",
    "acts/a/UP.yaml": f"""kind: act
code: UP
label: valeur qui change
category: consultation
unit: EUR
values:
  - {{from: 2020-01-01, value: "10.00", status: signed, {SRC}}}
  - {{from: 2021-01-01, value: "12.50", status: signed, {SRC}}}
""",
    "acts/a/NEW.yaml": f"""kind: act
code: NEW
label: code créé
category: consultation
unit: EUR
values:
  - {{from: 2021-01-01, value: "5.00", status: signed, {SRC}}}
""",
    "acts/a/OLD.yaml": f"""kind: act
code: OLD
label: code supprimé
category: consultation
unit: EUR
values:
  - {{from: 2019-01-01, value: "3.00", status: convention_2016, {SRC}}}
  - {{from: 2021-01-01, abolished: true, status: signed, {SRC}}}
""",
    "acts/a/HOLE.yaml": f"""kind: act
code: HOLE
label: devient lacune
category: consultation
unit: EUR
values:
  - {{from: 2019-01-01, value: "7.00", status: convention_2016, {SRC}}}
  - {{from: 2021-01-01, gap: {{note: n, points_to: p}}}}
  - {{from: 2021-01-01, territories: [guyane], value: "8.00", status: signed, {SRC}}}
""",
    "acts/a/FUZZY.yaml": f"""kind: act
code: FUZZY
label: date incertaine
category: consultation
unit: EUR
values:
  - {{from: 2019-01-01, value: "1.00", status: signed, {SRC}}}
  - {{from: {{not_before: 2020-06-01, in_force_by: 2021-06-01, note: n}}, value: "2.00", status: draft, {SRC}}}
""",
    "acts/a/SAME.yaml": f"""kind: act
code: SAME
label: même valeur, nouvelle entrée
category: consultation
unit: EUR
values:
  - {{from: 2019-01-01, value: "4.00", status: draft, {SRC}}}
  - {{from: 2021-01-01, value: "4.00", status: signed, {SRC}}}
requirements:
  - id: late
    description: exigence qui commence en 2021
    condition: {{fact: doctor.sector, in: [S1]}}
    refusal: {{reason: SECTOR_NOT_ELIGIBLE, message: m}}
    from: 2021-01-01
    status: signed
    {SRC}
  - id: gone
    description: exigence qui finit en 2021
    condition: {{fact: doctor.sector, in: [S1]}}
    refusal: {{reason: SECTOR_NOT_ELIGIBLE, message: m}}
    until: 2021-01-01
    status: signed
    {SRC}
""",
    "forfaits/demo/scheme.yaml": f"""kind: scheme
label: dispositif qui ouvre en 2021
in_force:
  - {{from: 2021-01-01, in_force: true, status: signed, {SRC}}}
""",
    "acts/a/STILL.yaml": f"""kind: act
code: STILL
label: inchangé
category: consultation
unit: EUR
values:
  - {{from: 2019-01-01, value: "9.00", status: signed, {SRC}}}
""",
}


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    root = tmp_path_factory.mktemp("spec")
    for name, text in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return load_spec_uncached(root)


def changes(spec, d1, d2):
    result = diff(spec, date.fromisoformat(d1), date.fromisoformat(d2))
    return result, {(c["code"], c["territory"]): c for c in result["changes"]}


def test_each_kind_of_change(spec):
    result, ch = changes(spec, "2020-03-01", "2021-09-01")
    assert ch[("UP", "metropole")]["change"] == "changed"
    assert (ch[("UP", "metropole")]["before"]["value"], ch[("UP", "metropole")]["after"]["value"]) == ("10.00", "12.50")
    assert ch[("NEW", "metropole")]["change"] == "appeared" and ch[("NEW", "metropole")]["before"]["state"] == "absent"
    assert ch[("OLD", "metropole")]["change"] == "abolished"
    assert ch[("HOLE", "metropole")]["change"] == "became_gap"
    assert ch[("HOLE", "guyane")]["after"]["value"] == "8.00"  # a territory with its own entry is its own track
    assert ch[("FUZZY", "metropole")]["change"] == "changed" and ch[("FUZZY", "metropole")]["after"]["value"] == "2.00"
    assert ch[("SAME", "metropole")]["change"] == "restated"
    assert ("STILL", "metropole") not in ch
    scheme = [c for c in result["changes"] if c["id"] == "forfaits.demo.scheme"]
    assert len(scheme) == 1 and scheme[0]["change"] == "appeared" and scheme[0]["after"]["value"] == "en vigueur"
    reqs = {r["id"]: r["change"] for r in result["requirements"]}
    assert reqs == {"SAME#late": "started", "SAME#gone": "ended"}


def test_uncertain_window_is_reported_never_guessed(spec):
    _, ch = changes(spec, "2020-03-01", "2021-01-15")
    fuzzy = ch[("FUZZY", "metropole")]
    assert fuzzy["change"] == "became_uncertain"
    assert fuzzy["after"]["state"] == "uncertain" and fuzzy["after"]["candidates"] == ["1.00", "2.00"]
    assert "value" not in fuzzy["after"]


def test_renderings_name_every_change(spec):
    result, _ = changes(spec, "2020-03-01", "2021-09-01")
    text = render_text(result)
    assert "10.00 -> 12.50" in text and "[supprimé]" in text and "SAME#late" in text
    md = render_markdown(result, link=lambda cid: f"{cid}.md")
    assert "| [UP](acts.a.UP.md) | valeur qui change | 10.00 | 12.50 |" in md
    assert "| [HOLE [guyane]](acts.a.HOLE.md) |" in md


def test_dates_must_be_ordered(spec):
    with pytest.raises(ConvmedError):
        diff(spec, date(2021, 1, 1), date(2021, 1, 1))
