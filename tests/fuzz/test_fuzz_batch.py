"""Fuzz `convmed batch price` (JSON Lines): malformed claims (the same strategies as `convmed price`)
mixed with valid ones. With --on-error skip every bad line is in the reject file under its own number,
no good line is, and read = priced + rejected = lines of the file."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from .harness import check, examples, fuzz_settings, run_cli
from .strategies import bad_claim

pytest.importorskip("polars")

GOOD = [
    '{"id": "a", "date": "2025-03-10", "doctor": {"specialty": "medecine_generale", "sector": "S1"}, "lines": [{"code": "G"}]}',
    '{"date": "2017-07-01", "doctor": {"specialty": "rhumatologie", "sector": "S1"}, "patient": {"age_years": 54, "has_mt": true}, '
    '"context": {"sent_by_mt": true, "report_to_mt": true}, "lines": [{"code": "CS"}, {"code": "MPC"}, {"code": "MCS"}]}',
    '{"date": "2025-01-10", "doctor": {"specialty": "medecine_generale", "sector": "S2"}, "patient": {"age_years": 40}, "lines": [{"code": "G"}]}',
]


def _one_line(case) -> bool:
    what, raw = case
    return b"\n" not in raw and b"\r" not in raw and raw.strip() != b""


@fuzz_settings(examples(ci=8, local=5, full=300))
@given(bad=st.lists(bad_claim().filter(_one_line), min_size=1, max_size=8), n_good=st.integers(0, 40), data=st.data())
def test_batch_rejects_exactly_the_bad_lines(tmp_path_factory, monkeypatch_session, bad, n_good, data):
    lines = [GOOD[i % len(GOOD)].encode() for i in range(n_good)]
    positions = []
    for what, raw in bad:
        k = data.draw(st.integers(0, len(lines)))
        lines.insert(k, raw)
        positions = [p + 1 if p >= k else p for p in positions] + [k]
    want = {p + 1 for p in positions}
    note(f"bad at lines {sorted(want)}: {[w for w, _ in bad]}")
    base = tmp_path_factory.getbasetemp()
    path, rejects, summary = base / "fuzz-batch.jsonl", base / "fuzz-batch.rejets.jsonl", base / "fuzz-batch.json"
    path.write_bytes(b"\n".join(lines) + b"\n")
    chunk = data.draw(st.sampled_from([1, 7, 1000]))
    if chunk >= 1000:   # the command (its floor is 1000 lines a chunk)
        result = run_cli(["batch", "price", path, "-o", base / "fuzz-batch.csv", "--on-error", "skip", "--rejects",
                          rejects, "--summary", summary, "--no-progress", "--chunk-rows", str(chunk)],
                         entry="batch price", timeout=120)
        check(result, expect=0)
        described = result.describe()
        s = json.loads(summary.read_text())
    else:               # chunk boundaries inside these few lines: the library the command calls
        from convmed.batch.run import price_file

        got_summary = price_file(str(path), output=str(base / "fuzz-batch.csv"), on_error="skip", rejects=str(rejects),
                                 chunk_rows=chunk)
        s, described = got_summary.as_dict(), f"price_file(chunk_rows={chunk})"
    got = [json.loads(x)["line"] for x in rejects.read_text(encoding="utf-8").splitlines()]
    assert sorted(got) == sorted(want), (sorted(got), sorted(want), described)
    assert (s["read"], s["priced"], s["rejected"]) == (len(lines), len(lines) - len(want), len(want)), s


@pytest.fixture(scope="session")
def monkeypatch_session():
    """Register `convmed batch` for the in-process CLI if the lead has not yet (COMMAND_MODULES)."""
    import convmed.cli as cli

    mp = pytest.MonkeyPatch()
    if "convmed.commands.batch" not in cli.COMMAND_MODULES:
        try:
            import convmed.commands.batch  # noqa: F401
        except ImportError:
            pytest.skip("convmed batch is not available")
        mp.setattr(cli, "COMMAND_MODULES", cli.COMMAND_MODULES + ["convmed.commands.batch"])
    yield mp
    mp.undo()
