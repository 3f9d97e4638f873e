"""Partie B : urgences, déplacements, HS, soins non programmés, télémédecine, CCAM, dentaire ;
surcouches, lookup, couverture, conflits, jours fériés.

Les valeurs attendues viennent des sources (citées en commentaire), jamais de la sortie de l'oracle.
Les vecteurs de conformance_tests/v1/ (familles de la partie B) sont rejoués par test_vectors_claims.py.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import date
from pathlib import Path

import pytest

from convmed.cli import main
from convmed.errors import ConvmedError
from convmed.facts import easter, is_public_holiday
from convmed.overlay import load_overlay
from convmed.pricing import Pricer, price_claim
from convmed.schemas import validate

REPO = Path(__file__).resolve().parent.parent
CATALOGUE = REPO.parent / "shared" / "reference" / "catalogue-acts.md"


def _claim(date_, lines, **kw):
    c = {"date": date_, "doctor": {"id": "d1", "specialty": kw.pop("specialty", "medecine_generale"),
                                   "sector": kw.pop("sector", "S1")}, "lines": lines}
    if "option" in kw:
        c["doctor"]["option"] = kw.pop("option")
    c.update(kw)
    assert not validate(c, "claim")
    return c


def _steps(line, step):
    return [s for s in line["trace"] if s["step"] == step]


# ---------------------------------------------------------------- acceptance (issue 3)
def test_ik_la_reunion_2026_03_01_reads_080_per_km(spec):
    # 004 « 0,80 € en Guyane, à La Réunion et à Mayotte » ; date : calendrier de 000 (IK/ID, janvier 2026)
    result = price_claim(_claim("2026-03-01", [{"code": "IK", "quantity": "25"}], territory="reunion",
                                context={"place": "domicile"}), spec)
    line = result["lines"][0]
    assert (line["status"], line["unit_value"], line["amount"]) == ("priced", "0.80", "20.00")
    value = _steps(line, "value")[0]
    assert value["rule"].startswith("IK#values/")
    assert any("0,80 € en Guyane, à La Réunion" in s["quote"] for s in value["sources"])
    assert any(s["seed"].startswith("000_") and s["quote"] == "IK/ID" for s in value["sources"])
    concept = spec.acts_by_code["IK"]
    from convmed.timeline import value_key

    (entry,) = [v for v in concept.data["values"] if value_key(v) == value["rule"].split("#values/")[1]]
    assert "LAYOUT-INFERENCE" in entry["date_note"]


def test_k_modifier_refused_for_s2_non_optam_surgeon(spec):
    claim = _claim("2025-09-01", [{"code": "HHFA016", "base_amount": "250.00"}, {"code": "K", "modifies": 0}],
                   specialty="chirurgie", sector="S2")
    line = price_claim(claim, spec)["lines"][1]
    assert (line["status"], line["reason"]) == ("refused", "SECTOR_NOT_ELIGIBLE")
    failed = [s for s in line["trace"] if s["outcome"] == "fail"]
    assert failed and failed[0]["rule"] == "K#secteur"
    assert any("S1/S2 OPTAM-CO" in s["quote"] for s in failed[0]["sources"])


def test_k_same_surgeon_in_sector_1_gets_30_percent(spec):
    # 000 « modificateur K (S1/S2 OPTAM-CO) : +20%  +30% » : 30 % de 250 = 75
    claim = _claim("2025-09-01", [{"code": "HHFA016", "base_amount": "250.00"}, {"code": "K", "modifies": 0}],
                   specialty="chirurgie")
    result = price_claim(claim, spec)
    assert [l["amount"] for l in result["lines"]] == ["250.00", "75.00"]
    assert result["total"] == "325.00"
    # the CCAM tariff is external: marked in the trace
    assert _steps(result["lines"][0], "overlay")[0]["rule"] == "line.base_amount"


# ---------------------------------------------------------------- association rule (endometriosis)
def _spec_with_dated_association(spec):
    """A copy of the spec where the endometriosis rule has a certain start (the seeds do not date it)."""
    clone = copy.copy(spec)
    clone.concepts = dict(spec.concepts)
    concept = copy.copy(spec.concepts["rules.ccam.endometriose_association"])
    concept.data = {**concept.data, "from": "2020-01-01"}
    clone.concepts[concept.id] = concept
    return clone


def test_endometriosis_association_ranks_100_75_50_and_refuses_a_fourth(spec):
    # 000 : « le plus élevé est tarifé à taux plein, le deuxième … à 75% … le troisième à 50 % » ; « trois actes au plus »
    claim = _claim("2025-09-01", [{"code": "AAAA001", "base_amount": "100.00"}, {"code": "AAAA002", "base_amount": "300.00"},
                                  {"code": "AAAA003", "base_amount": "200.00"}, {"code": "AAAA004", "base_amount": "50.00"}],
                   specialty="chirurgie", context={"endometriosis_surgery": True})
    result = Pricer(_spec_with_dated_association(spec)).price(claim)
    got = [(l["code"], l["status"], l.get("amount")) for l in result["lines"]]
    assert got == [("AAAA001", "priced", "50.00"), ("AAAA002", "priced", "300.00"),
                   ("AAAA003", "priced", "150.00"), ("AAAA004", "refused", None)]
    assert result["total"] == "500.00"


def test_endometriosis_rule_undated_makes_unknown_only_the_amounts_it_changes(spec):
    # SEMANTIQUE § 4.1 (2.1): the undated rule pays rank 1 at 100 %, as without it (certain); rank 2 at 75 % or 100 %
    claim = _claim("2025-09-01", [{"code": "AAAA001", "base_amount": "100.00"}, {"code": "AAAA002", "base_amount": "300.00"}],
                   specialty="chirurgie", context={"endometriosis_surgery": True})
    result = price_claim(claim, spec)
    assert [(l["status"], l.get("reason"), l.get("amount")) for l in result["lines"]] == [
        ("unknown", "DATE_UNCERTAIN", None), ("priced", None, "300.00")]
    assert result["complete"] is False and result["total"] == "300.00"
    alone = price_claim(_claim("2025-09-01", [{"code": "AAAA001", "base_amount": "100.00"}], specialty="chirurgie",
                               context={"endometriosis_surgery": True}), spec)
    assert alone["lines"][0]["amount"] == "100.00" and alone["complete"] is True


# ---------------------------------------------------------------- overlays
def test_default_answer_stays_the_seeds(spec):
    claim = _claim("2025-03-01", [{"code": "VG", "tarif_opposable": True}], context={"place": "domicile"})
    plain = price_claim(claim, spec)
    assert plain["lines"][0]["reason"] == "VALUE_GAP" and "overlays" not in plain["convmed"]


def test_overlay_fills_a_gap_and_is_marked(spec):
    claim = _claim("2025-03-01", [{"code": "VG", "tarif_opposable": True}], context={"place": "domicile"})
    result = price_claim(claim, spec, overlays=["ameli-officiel"])
    assert not validate(result, "result")
    line = result["lines"][0]
    assert (line["status"], line["amount"]) == ("priced", "30.00")
    step = _steps(line, "overlay")[0]
    assert step["rule"].startswith("overlay.ameli-officiel#rows/") and step["sources"][0]["reliability"] == "official"
    assert result["convmed"]["overlays"] == ["ameli-officiel"]


def test_overlay_never_replaces_a_seed_value(spec):
    claim = _claim("2025-03-01", [{"code": "G", "tarif_opposable": True}])
    result = price_claim(claim, spec, overlays=["ameli-officiel"])
    assert result["lines"][0]["amount"] == "30.00"
    assert not _steps(result["lines"][0], "overlay") and "overlays" not in result["convmed"]


def test_user_overlay_gives_ccam_tariffs(tmp_path, spec):
    path = tmp_path / "ccam.yaml"
    path.write_text("""kind: overlay
name: ma-ccam
label: Extrait de table CCAM
rows:
  - code: JKLD001
    from: 2025-01-01
    value: "38.40"
    source: {reference: "table CCAM de l'utilisateur", date: 2025-01-01, reliability: official}
""", encoding="utf-8")
    claim = _claim("2026-02-01", [{"code": "JKLD001"}])
    assert price_claim(claim, spec)["lines"][0]["reason"] == "VALUE_GAP"
    result = price_claim(claim, spec, overlays=[str(path)])
    assert result["lines"][0]["amount"] == "38.40" and result["convmed"]["overlays"] == ["ma-ccam"]


def test_bad_overlay_is_a_located_error(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("kind: overlay\nname: x\nlabel: y\nrows:\n  - code: IK\n    from: 2025-01-01\n    value: 0.8\n"
                    "    source: {reference: r, date: 2025-01-01, reliability: official}\n", encoding="utf-8")
    with pytest.raises(ConvmedError) as exc:
        load_overlay(str(path))
    problem = exc.value.problems[0]
    assert problem.file == str(path) and problem.pointer == "/rows/0/value" and problem.line == 7


def test_cli_unknown_overlay_exits_2(tmp_path, capsys):
    claim = tmp_path / "c.json"
    claim.write_text(json.dumps(_claim("2025-03-01", [{"code": "G"}])), encoding="utf-8")
    assert main(["price", str(claim), "--overlay", "nope"]) == 2
    assert "surcouche introuvable" in capsys.readouterr().err


def test_shipped_overlay_has_official_rows_only():
    overlay = load_overlay("ameli-officiel")
    assert overlay.rows and all(r.raw["source"]["reliability"] == "official" for r in overlay.rows)


# ---------------------------------------------------------------- lookup
def test_lookup_ik_reunion_text(capsys):
    assert main(["lookup", "IK", "--date", "2026-03-01", "--territory", "reunion"]) == 0
    out = capsys.readouterr().out
    assert "0.80 €/km" in out and "004_43679c6e4e635b7a.txt" in out and "LAYOUT-INFERENCE" in out


def test_lookup_json_gap_and_uncertain(capsys):
    assert main(["lookup", "IK", "--date", "2026-03-01", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "gap" and "plaine" in out["gap"]["note"]
    assert main(["lookup", "K", "--date", "2024-12-28", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "date_uncertain" and [c.get("value") for c in out["candidates"]] == ["20.00", "25.00"]


def test_lookup_bad_date_exits_2(capsys):
    assert main(["lookup", "IK", "--date", "2026-13-01"]) == 2
    assert "date invalide" in capsys.readouterr().err


# ---------------------------------------------------------------- coverage and conflicts
def test_spec_coverage_lists_every_index_code(capsys):
    assert main(["spec", "coverage", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert not report["missing"]
    names = {r["name"] for r in report["rows"]}
    first_tokens = {n.split()[0] for n in names}
    assert all(r["status"] in {"encoded", "encoded_as", "gap"} for r in report["rows"])
    assert all(r.get("reason") for r in report["rows"] if r["status"] == "gap")
    if not CATALOGUE.is_file():
        pytest.skip("guide de lecture absent")
    index = CATALOGUE.read_text(encoding="utf-8").split("## W. Code index")[1].split("\nCount:")[0]
    words = {"CCAM", "DROM", "EBD", "ESMS", "NGAP", "PDSA"}  # mots des libellés, pas des codes
    for row in index.splitlines():
        if not row.startswith("| ") or row.startswith(("| code", "|---")):
            continue
        for token in re.findall(r"[A-Z][A-Z0-9]{1,7}", row.split("|")[1]):
            if token not in words:
                assert token in names or token in first_tokens, f"{token} absent de spec/coverage.yaml"


def test_spec_conflicts_lists_part_b_conflicts_with_both_values(capsys):
    assert main(["spec", "conflicts", "--format", "json"]) == 0
    items = {(c["id"], c["concept"]): c for c in json.loads(capsys.readouterr().out)}
    c04 = items[("C-04", "acts.ccam.MOD_ANESTH_S1")]
    assert c04["retained"]["value"] == "12.00" and c04["alternatives"][0]["value"] == "10.00"
    c10 = items[("C-10", "acts.soins_non_programmes.MAJ_SOIR_19_21")]
    assert c10["retained"]["from"] == "2024-12-22" and c10["alternatives"][0]["from"] == "2025-01-01"
    for cid in ("C-09", "C-11", "C-16", "C-17", "C-19", "C-20", "C-26"):
        assert any(k[0] == cid for k in items), cid


# ---------------------------------------------------------------- derived facts
@pytest.mark.parametrize("year,expected", [(2024, date(2024, 3, 31)), (2025, date(2025, 4, 20)),
                                           (2026, date(2026, 4, 5)), (2019, date(2019, 4, 21))])
def test_easter(year, expected):
    assert easter(year) == expected


def test_public_holidays():
    assert is_public_holiday(date(2025, 6, 9))        # lundi de Pentecôte 2025
    assert is_public_holiday(date(2025, 5, 29))       # Ascension 2025
    assert not is_public_holiday(date(2025, 5, 27))
    assert is_public_holiday(date(2025, 5, 27), "guadeloupe")
    assert is_public_holiday(date(2025, 12, 20), "reunion") and not is_public_holiday(date(2025, 12, 20))


def test_hour_boundaries_of_the_19_21_supplement(spec):
    # 004 « entre 19h et 21h » ; 001 « dès le 22 décembre 2024 »
    def amount(time):
        claim = _claim("2025-03-04", [{"code": "G"}, {"code": "SNP", "tarif_opposable": True}, {"code": "MAJ_SOIR_19_21"}],
                       time=time, context={"regulation": "sas", "hours_since_request": 2})
        claim["doctor"]["counters"] = {"snp_this_week": 0}
        return price_claim(claim, spec)["lines"][2]["status"]
    assert [amount(t) for t in ("18:59", "19:00", "20:59", "21:00")] == ["refused", "priced", "priced", "refused"]


def test_text_rendering_shows_external_source(tmp_path, capsys):
    claim = tmp_path / "vg.json"
    claim.write_text(json.dumps(_claim("2025-03-01", [{"code": "VG", "tarif_opposable": True}],
                                       context={"place": "domicile"})), encoding="utf-8")
    assert main(["price", str(claim), "--overlay", "ameli-officiel", "--format", "text"]) == 0
    out = capsys.readouterr().out
    assert "source externe ameli.fr" in out and "30.00 €" in out


def test_csv_overlay_gives_ccam_tariffs_and_locates_errors(tmp_path, spec):
    path = tmp_path / "Table CCAM.csv"
    path.write_text("code,from,value,source_reference,source_date,source_reliability\n"
                    "KCQM001,2025-01-01,50.00,table CCAM,2025-01-01,official\n", encoding="utf-8")
    claim = _claim("2026-02-02", [{"code": "CS", "tarif_opposable": True}, {"code": "KCQM001"}], specialty="endocrinologie")
    result = price_claim(claim, spec, overlays=[str(path)])
    assert result["lines"][1]["amount"] == "50.00" and result["convmed"]["overlays"] == ["table-ccam"]
    path.write_text("code,from,value,source_reference,source_date,source_reliability\n"
                    "KCQM001,2025-01-01,50.00,table CCAM,2025-01-01,official\n"
                    "KCQM001,2025-01-01,cinquante,table CCAM,2025-01-01,official\n", encoding="utf-8")
    with pytest.raises(ConvmedError) as exc:
        load_overlay(str(path))
    assert [(p.line, p.pointer) for p in exc.value.problems] == [(3, "/rows/1/value")]
