"""Fuzz `convmed conformance lint --suite DIR` with hostile vector files (schemas/vector-file.schema.json):
damaged JSON, wrong types, floats for money in `expected`, impossible dates in inputs, unknown keys,
duplicate ids. The lint is a check: it fails (exit 1) with each problem located in the file; a file it
cannot read at all may also be refused as bad input (2). Never an internal error, never a hang."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

from hypothesis import given, note
from hypothesis import strategies as st

from .harness import check, examples, fuzz_settings, located_problems, run_cli
from .strategies import Raw, bad_json_text, dumps, impossible_date, malformed_money, wrong_type_for

REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO / "conformance_tests" / "v1" / "majorations-enfant.json"


def _base() -> dict:
    data = json.loads(SOURCE.read_text(encoding="utf-8"))
    data["cases"] = data["cases"][:2]
    return data


@st.composite
def bad_vector_file(draw) -> tuple[str, bytes]:
    doc = copy.deepcopy(_base())
    case = doc["cases"][0]
    how = draw(st.sampled_from(["text", "case_type", "level", "missing", "unknown", "money", "date", "dup_id",
                                "rules", "seeds", "family", "cases"]))
    if how == "text":
        return draw(bad_json_text(doc))
    if how == "case_type":
        key = draw(st.sampled_from(["id", "description", "rules", "seeds", "input", "expected"]))
        case[key] = draw(wrong_type_for("object" if key in ("input", "expected") else
                                        "array" if key in ("rules", "seeds") else "string"))
    elif how == "level":
        case["level"] = draw(st.sampled_from(["REQUIRED", "obligatoire", "", None, 1]))
    elif how == "missing":
        del case[draw(st.sampled_from(["id", "level", "input", "expected", "kind"]))]
    elif how == "unknown":
        case[draw(st.text(min_size=1, max_size=20).filter(lambda k: k not in case and k not in
              {"id", "description", "level", "rules", "seeds", "kind", "input", "expected", "notes", "tags"}))] = 1
    elif how == "money":
        case["expected"] = {"total": draw(malformed_money())}
    elif how == "date":
        case["input"]["date"] = draw(impossible_date())
    elif how == "dup_id":
        doc["cases"][1]["id"] = case["id"]
    elif how == "rules":
        case["rules"] = [draw(st.sampled_from(["acts.consultations.NOPE", "acts.consultations.G#nope",
                                               "acts.consultations.G#values/99", "acts.consultations.G#values/²", "", "#"]))]
    elif how == "seeds":
        case["seeds"] = [draw(st.sampled_from([{"seed": "nope.txt", "path": [], "quote": "x"},
                                               {"seed": case["seeds"][0]["seed"] if case.get("seeds") else "x",
                                                "path": ["x"], "quote": "citation absente de la source"},
                                               {"seed": 1}, "texte"]))]
    elif how == "family":
        doc["family"] = draw(st.sampled_from([None, 1, "", "Majorations Enfant!"]))
    else:
        doc["cases"] = draw(st.sampled_from([[], {}, "x", [None], [[]]]))
    return how, dumps(doc).encode()


@fuzz_settings(examples(ci=20, local=12, full=300))
@given(case=bad_vector_file())
def test_hostile_vector_file_fails_the_lint_located(tmp_path_factory, case):
    what, raw = case
    note(what)
    suite = tmp_path_factory.getbasetemp() / "fuzz-suite"
    if not suite.exists():
        suite.mkdir()
        shutil.copy(REPO / "conformance_tests" / "v1" / "suite.json", suite)
    path = suite / "majorations-enfant.json"
    path.write_bytes(raw)
    result = check(run_cli(["conformance", "lint", "--suite", suite], entry="conformance lint", timeout=60),
                   expect={1, 2}, files=[path])
    if result.rc == 1:
        assert any(m["file"].endswith("majorations-enfant.json") for m in located_problems(result.err)), \
            "the failing lint does not locate the damaged file\n" + result.describe()


def test_the_vector_base_passes_the_lint(tmp_path):
    suite = tmp_path / "suite"
    suite.mkdir()
    shutil.copy(REPO / "conformance_tests" / "v1" / "suite.json", suite)
    (suite / "majorations-enfant.json").write_text(json.dumps(_base(), ensure_ascii=False))
    result = run_cli(["conformance", "lint", "--suite", suite], timeout=60)
    check(result, expect=0)
