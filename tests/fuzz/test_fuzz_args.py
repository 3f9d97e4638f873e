"""Fuzz the command-line arguments that carry data: dates (`lookup --date`, `diff --from/--to`,
`forfait --date/--year`), codes, specialties, territories, paths. A malformed date or year is exit 2
with a message naming the option; an unknown code is an answer (0) or a refusal (2); never exit 3."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, note
from hypothesis import strategies as st

from .harness import check, examples, fuzz_settings, run_cli
from .strategies import impossible_date

REPO = Path(__file__).resolve().parents[2]


def bad_date_text():
    return st.one_of(impossible_date(), st.sampled_from(
        ["", " ", "2025-1-1", "2025/01/10", "10/01/2025", "2025-01-10T00:00", "aujourd'hui", "2025-01-10\n",
         "99999-01-01", "-2025-01-01", "２０２５-01-10", "2025-01-10x", "20250110", "2025-W02-5", "2025-010"]),
        st.text(max_size=30).filter(lambda t: not _is_iso(t)))


def _is_iso(text: str) -> bool:
    from datetime import date
    import re

    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        return False
    try:
        date.fromisoformat(text)
        return True
    except ValueError:
        return False


def any_arg():
    return st.text(min_size=0, max_size=50).filter(lambda t: not t.startswith("-"))


def _lookup_available() -> bool:
    from convmed.cli import COMMAND_MODULES

    return "convmed.commands.lookup" in COMMAND_MODULES


@fuzz_settings(examples(ci=100, local=40, full=1500))
@given(data=st.data())
def test_bad_dates_in_options_are_refused(tmp_path_factory, data):
    which = data.draw(st.sampled_from(["lookup", "diff_from", "diff_to", "forfait_date"] if _lookup_available()
                                      else ["diff_from", "diff_to", "forfait_date"]))
    bad = data.draw(bad_date_text())
    note(f"{which} {bad!r}")
    if which == "lookup":
        argv = ["lookup", "G", "--date", bad]
    elif which == "diff_from":
        argv = ["diff", "--from", bad, "--to", "2025-01-01"]
    elif which == "diff_to":
        argv = ["diff", "--from", "2025-01-01", "--to", bad]
    else:
        request = tmp_path_factory.getbasetemp() / "fuzz-args-fmt.json"
        request.write_text('{"scheme": "fmt", "doctor": {"sector": "S1"}, "patients": [{"age": 40}]}')
        argv = ["forfait", "fmt", request, "--date", bad]
    check(run_cli(argv, entry=f"args {which}"), expect=2, usage_ok=True)


@fuzz_settings(examples(ci=60, local=30, full=1000))
@given(year=st.one_of(st.integers(max_value=1999), st.integers(min_value=2101), st.text(max_size=10)))
def test_bad_forfait_years_are_refused(tmp_path_factory, year):
    request = tmp_path_factory.getbasetemp() / "fuzz-args-fmt.json"
    request.write_text('{"scheme": "fmt", "doctor": {"sector": "S1"}, "patients": [{"age": 40}]}')
    check(run_cli(["forfait", "fmt", request, "--year", str(year)], entry="args forfait --year"),
          expect=2, usage_ok=True, files=[request])


@fuzz_settings(examples(ci=80, local=30, full=1500))
@given(code=any_arg(), specialty=st.one_of(st.none(), any_arg()), day=st.dates().map(str),
       territory=st.sampled_from([None, "metropole", "guyane", "atlantide"]))
def test_lookup_of_any_code_is_an_answer_or_a_refusal(code, specialty, day, territory):
    if not _lookup_available():
        return
    argv = ["lookup", code, "--date", day]
    if specialty is not None:
        argv += ["--specialty", specialty]
    if territory is not None:
        argv += ["--territory", territory]
    check(run_cli(argv, entry="lookup"), allowed={0, 2}, usage_ok=True)


@fuzz_settings(examples(ci=40, local=20, full=500))
@given(d1=st.dates(), d2=st.dates(), fmt=st.sampled_from(["text", "json", "markdown"]))
def test_diff_between_any_two_dates(d1, d2, fmt):
    check(run_cli(["diff", "--from", d1, "--to", d2, "--format", fmt], entry="diff"), allowed={0, 2})


def test_missing_or_unreadable_paths_are_bad_input(tmp_path):
    missing = tmp_path / "absent.json"
    for argv, where in [
        (["price", missing], missing),
        (["price", tmp_path], tmp_path),
        (["forfait", "fmt", missing, "--year", "2026"], missing),
        (["price", REPO / "examples" / "consultation-g-2025.json", "--overlay", missing], missing),
        (["diff", "--from", "2024-01-01", "--to", "2025-01-01", "--spec", missing], missing),
    ]:
        result = check(run_cli(argv), expect=2, files=[where])
        assert str(where) in result.err, result.describe()


def test_spec_check_of_a_missing_directory_is_bad_input(tmp_path):
    result = check(run_cli(["spec", "check", "--spec", tmp_path / "absent"]), expect=2, files=[tmp_path / "absent"])
    assert "absent" in result.err


def test_compact_and_week_dates_are_refused_by_every_date_option():
    """date.fromisoformat (3.11) also reads 20250110 and 2025-W02-5: the options want AAAA-MM-JJ."""
    for bad in ("20250110", "2025-W02-5", "2025-010"):
        for argv in (["lookup", "G", "--date", bad], ["diff", "--from", bad, "--to", "2025-06-01"],
                     ["diff", "--from", "2025-01-01", "--to", bad]):
            result = check(run_cli(argv), expect=2)
            assert bad in result.err, result.describe()
