"""`convmed spec check` on the repository, and on copies with one injected error each."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def run_check(spec_dir: Path, seeds: Path | None, *extra):
    cmd = [sys.executable, "-m", "convmed", "spec", "check", "--spec", str(spec_dir)]
    if seeds:
        cmd += ["--seeds", str(seeds)]
    return subprocess.run(cmd + list(extra), capture_output=True, text=True)


def test_repository_spec_passes(seeds):
    out = run_check(REPO / "spec", seeds)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "quotes checked" in out.stdout and "SKIPPED" not in out.stdout


def test_quote_check_reported_as_skipped_without_seeds(monkeypatch, capsys):
    from convmed import cli, paths
    from convmed.check import check_spec

    report = check_spec(REPO / "spec", None)
    assert report.quotes_checked == 0 and report.quotes_skipped > 100
    monkeypatch.setattr(paths, "seeds_dir", lambda: None)
    cli.main(["spec", "check", "--spec", str(REPO / "spec")])
    assert "quote check SKIPPED" in capsys.readouterr().out


@pytest.fixture
def spec_copy(tmp_path):
    dst = tmp_path / "spec"
    shutil.copytree(REPO / "spec", dst)
    return dst


def _edit(path: Path, old: str, new: str):
    text = path.read_text(encoding="utf-8")
    assert old in text, f"fixture text not found in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _line_of(path: Path, needle: str) -> int:
    for i, l in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in l:
            return i
    raise AssertionError(needle)


def test_a_float_amount_is_refused(spec_copy, seeds):
    g = spec_copy / "acts/consultations/G.yaml"
    _edit(g, 'value: "30.00"', "value: 30.00")
    out = run_check(spec_copy, seeds)
    assert out.returncode == 1
    assert f"{g}:{_line_of(g, 'value: 30.00')} /values/1/value" in out.stderr


def test_overlapping_periods_are_refused(spec_copy, seeds):
    mcs = spec_copy / "acts/majorations/MCS.yaml"
    _edit(mcs, "- from: 2024-12-22\n", "- from: 2017-07-01\n")
    out = run_check(spec_copy, seeds)
    assert out.returncode == 1
    assert str(mcs) in out.stderr and "[overlap]" in out.stderr
    assert f"{mcs}:{_line_of(mcs, 'from: 2017-07-01') + 0}" in out.stderr or f"{mcs}:" in out.stderr


def test_dates_out_of_order_are_refused(spec_copy, seeds):
    cnpsy = spec_copy / "acts/consultations/CNPSY.yaml"
    _edit(cnpsy, "  - from: 2017-07-01\n", "  - from: 2016-01-01\n")
    out = run_check(spec_copy, seeds)
    assert out.returncode == 1 and "[overlap]" in out.stderr and str(cnpsy) in out.stderr


def test_a_quote_not_in_its_seed_is_refused(spec_copy, seeds):
    g = spec_copy / "acts/consultations/G.yaml"
    _edit(g, "quote: G = 30 €", "quote: G = 31 €")
    out = run_check(spec_copy, seeds)
    assert out.returncode == 1
    assert f"{g}:{_line_of(g, 'quote: G = 31 €')} /values/1/sources/0/quote" in out.stderr


def test_a_duplicate_key_is_refused(spec_copy, seeds):
    g = spec_copy / "acts/consultations/G.yaml"
    _edit(g, "category: consultation\n", "category: consultation\ncategory: visite\n")
    out = run_check(spec_copy, seeds)
    assert out.returncode == 1
    assert f"{g}:{_line_of(g, 'category: visite')}" in out.stderr and "duplicate key 'category'" in out.stderr


@pytest.mark.parametrize("old,new,needle", [
    ("    fact: patient.age_years\n    lt: 6\n", "    fact: patient.shoe_size\n    lt: 6\n", "patient.shoe_size"),
    ("formula: 57.00 - 52.00", "formula: 57.00 - 51.00", "formula gives 6.00"),
    ("  codes:\n  - G\n  - C\n", "  codes:\n  - G\n  - XYZ\n", "code XYZ does not resolve"),
    ("reason: AGE_NOT_ELIGIBLE", "reason: TOO_YOUNG", "TOO_YOUNG"),
    ("  - patient.id\n", "  - patient.shoe_id\n", "fact patient.shoe_id is not in"),
    ("    fact: doctor.specialty\n    in:\n    - medecine_generale\n    - mep\n",
     "    fact: doctor.specialty\n    in:\n    - plumber\n", "'plumber'"),
])
def test_integrity_errors_are_located(spec_copy, seeds, old, new, needle):
    for path in (spec_copy / "acts/majorations/MEG.yaml", spec_copy / "acts/majorations/MCS.yaml",
                 spec_copy / "acts/complexes/GL3.yaml"):
        if old in path.read_text(encoding="utf-8"):
            _edit(path, old, new)
            break
    else:
        raise AssertionError(old)
    out = run_check(spec_copy, seeds)
    assert out.returncode == 1 and needle in out.stderr and f"{path}:" in out.stderr, out.stderr[-2000:]


def test_status_must_match_a_source(spec_copy, seeds):
    g = spec_copy / "acts/consultations/G.yaml"
    _edit(g, "    value: \"30.00\"\n    status: signed", "    value: \"30.00\"\n    status: convention_2016")
    out = run_check(spec_copy, seeds)
    assert out.returncode == 1 and "needs at least one source from a convention_2016 seed" in out.stderr


def test_yaml_aliases_are_refused(spec_copy, seeds):
    g = spec_copy / "acts/consultations/G.yaml"
    _edit(g, "label: Consultation de référence du médecin généraliste", "label: &l Consultation\ndescription2: *l")
    out = run_check(spec_copy, seeds)
    assert out.returncode == 1 and "anchors and aliases are not allowed" in out.stderr


def test_invalid_yaml_names_the_line(spec_copy, seeds):
    g = spec_copy / "acts/consultations/G.yaml"
    _edit(g, "unit: EUR\n", "unit: [EUR\n")
    out = run_check(spec_copy, seeds)
    assert out.returncode == 1 and f"{g}:" in out.stderr and "Traceback" not in out.stderr


def test_a_code_defined_twice_is_refused(spec_copy, seeds):
    dup = spec_copy / "acts/majorations/G_copy.yaml"
    shutil.copy(spec_copy / "acts/consultations/G.yaml", dup)
    out = run_check(spec_copy, seeds)
    assert out.returncode == 1 and "code G is already defined" in out.stderr and "[duplicate-code]" in out.stderr


def test_unknown_kind_is_refused(spec_copy, seeds):
    odd = spec_copy / "acts/odd.yaml"
    odd.write_text("kind: recipe\nlabel: x\n", encoding="utf-8")
    out = run_check(spec_copy, seeds)
    assert out.returncode == 1 and f"{odd}:1 /kind" in out.stderr and "unknown kind 'recipe'" in out.stderr


def test_a_dependency_cycle_between_codes_is_refused(spec_copy, seeds):
    """SEMANTIQUE.md § 2.5: CEK declares that the MCS yields to it; a declaration on MCS that CEK yields to the MCS
    makes a cycle (two texts excluding each other are written once, with yields: both)."""
    mcs = spec_copy / "acts/majorations/MCS.yaml"
    text = mcs.read_text(encoding="utf-8")
    mcs.write_text(text.replace("see_also:\n", """non_cumul:
- id: against_cek
  description: test
  codes: [CEK]
  yields: other
  refusal: {reason: NON_CUMUL, message: test}
  status: draft
  sources:
  - seed: 004_43679c6e4e635b7a.txt
    path: [test]
    quote: Ces trois consultations ne se cumulent pas avec la majoration de coordination spécialiste MCS.
see_also:
""", 1), encoding="utf-8")
    out = run_check(spec_copy, seeds)
    assert out.returncode == 1 and "[cycle]" in out.stderr and "CEK" in out.stderr and "MCS" in out.stderr, out.stderr[-1500:]


def test_an_other_line_fact_outside_unless_is_refused(spec_copy, seeds):
    g = spec_copy / "acts/consultations/G.yaml"
    _edit(g, "        - {fact: line.tarif_opposable, is: true}", "        - {fact: other.line.tarif_opposable, is: true}")
    out = run_check(spec_copy, seeds)
    assert out.returncode == 1 and "only meaningful in a non_cumul `unless`" in out.stderr


def test_a_dangling_or_positional_citation_of_a_vector_and_a_duplicate_value_id_are_refused(tmp_path, seeds):
    """SEMANTIQUE § 7.1: the spec check of a checkout reads its vectors' citations; a dated value cited by its
    position (the old form), an act cited by its path or a missing rule is refused, located in the vector file;
    two entries of one concept with the same id are refused."""
    import json

    for name in ("spec", "conformance_tests"):
        shutil.copytree(REPO / name, tmp_path / name)
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    vectors = tmp_path / "conformance_tests" / "v1" / "semantics.json"
    data = json.loads(vectors.read_text(encoding="utf-8"))
    data["cases"][0]["rules"] += ["G#values/1", "acts.consultations.G", "MEG#nope"]
    vectors.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    g = tmp_path / "spec/acts/consultations/G.yaml"
    _edit(g, "  - from:\n      in_force_by: 2024-12-21\n", "  - id: 2024-12-22\n    from:\n      in_force_by: 2024-12-21\n")
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("CONVMED_SPEC")}
    out = subprocess.run([sys.executable, "-m", "convmed", "spec", "check", "--seeds", str(seeds)],
                         capture_output=True, text=True, cwd=tmp_path, env=env)
    assert out.returncode == 1, out.stdout
    n = len(data["cases"][0]["rules"])
    for i in (n - 3, n - 2, n - 1):
        assert f"{vectors}:" in out.stderr and f"/cases/0/rules/{i}: [citation]" in out.stderr
    assert "un acte se cite par son code : G" in out.stderr
    assert f"{g}:" in out.stderr and "[value-id]" in out.stderr and "'2024-12-22'" in out.stderr


def test_a_hole_and_an_overlap_in_a_decision_table_are_refused(spec_copy, seeds):
    """The FMT socle is one decision table (spec/forfaits/fmt/socle/table.yaml, hit policy unique): spec check
    proves over every class of the facts its criteria read that each patient falls in exactly one cell."""
    socle = spec_copy / "forfaits/fmt/socle"
    _edit(socle / "no_ald_75_79.yaml", "{fact: patient.age_years, between: [75, 79]}",
          "{fact: patient.age_years, between: [75, 78]}")                                               # 79: nowhere
    _edit(socle / "under_7.yaml", "{fact: patient.age_years, lt: 7}", "{fact: patient.age_years, lt: 8}")  # 7: twice
    out = run_check(spec_copy, seeds)
    assert out.returncode == 1
    table = socle / "table.yaml"
    assert f"{table}:" in out.stderr and "[decision-table]" in out.stderr
    assert ("trou : aucune case ne couvre le patient patient.age_years = 79, patient.has_ald = non, "
            "patient.seen_last_two_years = oui") in out.stderr
    assert "recouvrement : les cases 'no_ald_7_74' et 'under_7'" in out.stderr and "patient.age_years = 7," in out.stderr
    assert "patient.age_years = 78" not in out.stderr and "patient.age_years = 80" not in out.stderr
    assert "not_seen" not in out.stderr   # a patient not seen is in one cell whatever his age


def test_a_fact_misused_in_a_condition_is_refused(spec_copy, seeds):
    """The one rule language reads each fact by its type and where it comes from (spec/vocabulary/facts.yaml):
    an ordered operator on a boolean, a claim fact in a forfait criterion, a record-only fact in an act's
    condition and a parameterised fact without its `where` are refused, each at its pointer."""
    socle = spec_copy / "forfaits/fmt/socle"
    _edit(socle / "no_ald_75_79.yaml", "{fact: patient.has_ald, is: false}", "{fact: patient.has_ald, ge: 1}")
    _edit(socle / "under_7.yaml", "{fact: patient.age_years, lt: 7}", "{fact: doctor.qpv, is: true}")
    _edit(spec_copy / "forfaits/fmt/prevention/indicators/i01_flu.yaml",
          "{fact: patient.events, where: {type: flu_vaccine_delivery, window: {campaign: {month: 4, day: 1}}}, ge: 1}",
          "{fact: patient.events, ge: 1}")
    _edit(spec_copy / "acts/telemedecine/TLC.yaml", "    - fact: patient.has_mt", "    - fact: patient.has_ald")
    out = run_check(spec_copy, seeds)
    assert out.returncode == 1
    assert "/criterion/all/1/ge: [fact-use] operator ge does not read a fact of type boolean" in out.stderr
    assert "fact doctor.qpv is not a fact of a patient record" in out.stderr
    assert "/validation/criterion/any/0/fact: [fact-use] fact patient.events is parameterised" in out.stderr
    assert "TLC.yaml" in out.stderr and "fact patient.has_ald is a fact of a patient record only" in out.stderr


def test_a_criterion_naming_nothing_or_impossible_is_refused(spec_copy, seeds):
    """A typo in an event type or a flag, a flag given as a number, a campaign starting on 30 February and a
    reversed `between` would make an indicator silently never validated (or crash): spec check refuses each."""
    ind = spec_copy / "forfaits/fmt/prevention/indicators"
    _edit(ind / "i04_mmr.yaml", "type: mmr_vaccine_delivery,", "type: mmr_vacine_delivery,")
    _edit(ind / "i08_cervical_screening.yaml", "contains: hysterectomy_total}", "contains: hysterectomie_total}")
    _edit(ind / "i08_cervical_screening.yaml", "contains: cervix_or_uterus_cancer_history}", "contains: 5}")
    _edit(ind / "i01_flu.yaml", "window: {campaign: {month: 4, day: 1}}}, ge: 1}\n    - {fact: patient.events, where: "
          "{type: flu_vaccine_administration", "window: {campaign: {month: 2, day: 30}}}, ge: 1}\n    - {fact: "
          "patient.events, where: {type: flu_vaccine_administration")
    _edit(spec_copy / "forfaits/fmt/socle/no_ald_75_79.yaml", "between: [75, 79]", "between: [79, 75]")
    out = run_check(spec_copy, seeds)
    assert out.returncode == 1
    assert "'mmr_vacine_delivery' is not a term of spec/vocabulary/care_events.yaml" in out.stderr
    assert "'hysterectomie_total' is not a term of spec/vocabulary/care_events.yaml" in out.stderr
    assert "patient.flags holds strings: [5] can never match" in out.stderr
    assert "/window/campaign: [fact-use] a campaign starts on a day every year has, not 30/2" in out.stderr
    assert "between [79, 75]: the lower bound is above the upper one" in out.stderr


def test_a_cell_outside_its_table_and_a_row_without_cell_are_refused(spec_copy, seeds):
    weights = spec_copy / "forfaits/fpmt/weights"
    _edit(weights / "table.yaml", "rows: [ald_80_plus, ald_under_80, no_ald_80_plus, no_ald_7_79, under_7]",
          "rows: [ald_80_plus, ald_under_80, no_ald_80_plus, no_ald_7_79, under_6]")
    out = run_check(spec_copy, seeds)
    assert out.returncode == 1
    assert "la ligne 'under_6' n'est pas une case" in out.stderr and "/rows/4" in out.stderr
    assert "la case 'under_7' du dossier n'est pas une ligne du tableau" in out.stderr


def test_a_percent_of_component_names_its_base_and_rates_with_conditions(spec_copy, seeds):
    """The FMT majorations are declared components (scheme.yaml `percent_of: socle`, `rates`), each rate a
    parameter whose `applies_when` condition selects it: a rate without its condition is refused."""
    scheme = spec_copy / "forfaits/fmt/scheme.yaml"
    _edit(scheme, "percent_of: socle,\n     choices: [forfaits.fmt.majorations.age_67]",
          "percent_of: socles,\n     choices: [forfaits.fmt.c2s.amount]")
    out = run_check(spec_copy, seeds)
    assert out.returncode == 1
    assert "percent_of 'socles' is not another component" in out.stderr
    assert "choice forfaits.fmt.c2s.amount is not a percent parameter with `applies_when`" in out.stderr
