"""`convmed batch price` on a claims file with 1 % malformed lines: every bad line is reported by its
number (reject file with --on-error skip, or the first one with --on-error stop, exit 2), nothing is
dropped silently and the counts add up (read = priced + rejected = lines of the file).

CI: 20 000 lines. Full run: CONVMED_BATCH_LINES=1000000 (or CONVMED_FUZZ_FULL=1) for 1 000 000 lines.
"""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path

import pytest

from fuzz.harness import FULL, check, located_problems, run_cli

pytest.importorskip("polars")

N_LINES = int(os.environ.get("CONVMED_BATCH_LINES") or (1_000_000 if FULL else 20_000))

# One malformed line each, invalid by construction (schemas/claim.schema.json, README): the kind, the text.
GOOD = '{"id": "x", "date": "2025-03-10", "doctor": {"specialty": "medecine_generale", "sector": "S1"}, "lines": [{"code": "G"}]}'
BAD_LINES = [
    ("truncated", GOOD[:57]),
    # found by the full fuzz run: U+0085 / U+2028 in the rejected text split the reject file's lines
    ("line separators in an unknown field", GOOD.replace('"id": "x"', '"id": "x", "0": "\u0085\u2028\u2029"')),
    ("comma money", GOOD.replace('{"code": "G"}', '{"code": "DE", "amount": "30,00", "base_line": 0}')),
    ("float money", GOOD.replace('{"code": "G"}', '{"code": "DE", "amount": 30.0, "base_line": 0}')),
    ("negative money", GOOD.replace('{"code": "G"}', '{"code": "DE", "amount": "-5.00", "base_line": 0}')),
    ("NaN", GOOD.replace('{"code": "G"}', '{"code": "DE", "amount": NaN, "base_line": 0}')),
    ("29 February 2025", GOOD.replace("2025-03-10", "2025-02-29")),
    ("31 April", GOOD.replace("2025-03-10", "2025-04-31")),
    ("bad time", GOOD.replace('"date"', '"time": "24:00", "date"')),
    ("unknown field", GOOD.replace('"id"', '"secteur": "S1", "id"')),
    ("missing doctor", '{"id": "x", "date": "2025-03-10", "lines": [{"code": "G"}]}'),
    ("not an object", "[1, 2, 3]"),
    ("null", "null"),
    ("wrong type", GOOD.replace('"sector": "S1"', '"sector": 1')),
    ("empty lines", GOOD.replace('[{"code": "G"}]', "[]")),
    ("single quotes", GOOD.replace('"', "'")),
    ("invalid UTF-8", None),  # bytes, below
]


def _register_batch(monkeypatch):
    import convmed.cli as cli

    if "convmed.commands.batch" not in cli.COMMAND_MODULES:
        try:
            import convmed.commands.batch  # noqa: F401
        except ImportError:
            pytest.skip("convmed batch is not available")
        monkeypatch.setattr(cli, "COMMAND_MODULES", cli.COMMAND_MODULES + ["convmed.commands.batch"])


@pytest.fixture(scope="module")
def claims_file(tmp_path_factory) -> tuple[Path, dict[int, str]]:
    """N_LINES claims (a cycle of generated valid claims), 1 % of them replaced by a malformed line."""
    from convmed.batch.generate import generate_claims

    path = tmp_path_factory.mktemp("batch") / f"demandes-{N_LINES}.jsonl"
    valid = [json.dumps(c, ensure_ascii=False, separators=(",", ":")).encode() for c in
             generate_claims(997, seed=7, profile="national")]
    rng = random.Random(N_LINES)
    bad_at = set(rng.sample(range(1, N_LINES + 1), N_LINES // 100))
    bad: dict[int, str] = {}
    with open(path, "wb") as fh:
        for n in range(1, N_LINES + 1):
            if n in bad_at:
                kind, text = BAD_LINES[n % len(BAD_LINES)]
                raw = GOOD.replace('"x"', '"\xff"').encode("latin-1") if text is None else text.encode()
                bad[n] = kind
            else:
                raw = valid[n % len(valid)]
            fh.write(raw + b"\n")
    return path, bad


def test_every_bad_line_is_rejected_by_number_and_the_counts_add_up(claims_file, tmp_path, monkeypatch):
    _register_batch(monkeypatch)
    path, bad = claims_file
    out, rejects, summary_file = tmp_path / "out.csv", tmp_path / "rejets.jsonl", tmp_path / "bilan.json"
    start = time.perf_counter()
    result = run_cli(["batch", "price", path, "-o", out, "--on-error", "skip", "--rejects", rejects,
                      "--summary", summary_file, "--no-progress"], timeout=3600, entry="batch price")
    seconds = time.perf_counter() - start
    check(result, expect=0)
    summary = json.loads(summary_file.read_text())
    rejected = [json.loads(line) for line in rejects.read_text(encoding="utf-8").splitlines()]
    reported = {r["line"] for r in rejected}
    missing = sorted(set(bad) - reported)[:10]
    extra = sorted(reported - set(bad))[:10]
    assert not missing, "bad lines not reported: " + ", ".join(f"{n} ({bad[n]})" for n in missing)
    assert not extra, f"good lines rejected: {extra}"
    assert len(rejected) == len(bad), "one reject per bad line"
    assert all(r.get("message") for r in rejected)
    assert summary["read"] == N_LINES, summary
    assert summary["rejected"] == len(bad) and summary["priced"] == N_LINES - len(bad), summary
    assert summary["read"] == summary["priced"] + summary["rejected"]
    # the first rejects are echoed on stderr, located by line
    echoed = {int(m["line"]) for m in located_problems(result.err) if m["line"]}
    assert echoed and echoed <= set(bad), result.describe()
    print(f"\nbatch price: {N_LINES} lines, {len(bad)} malformed, {seconds:.1f}s; summary {summary}")


def test_on_error_stop_names_the_first_bad_line(claims_file, monkeypatch, tmp_path):
    _register_batch(monkeypatch)
    path, bad = claims_file
    head = tmp_path / "head.jsonl"
    first = min(bad)
    with open(path, "rb") as src, open(head, "wb") as dst:
        for n, line in enumerate(src, 1):
            dst.write(line)
            if n >= first + 50:
                break
    result = check(run_cli(["batch", "price", head, "-o", tmp_path / "o.csv", "--no-progress"], timeout=600),
                   expect=2, files=[head])
    assert {int(m["line"]) for m in located_problems(result.err)} == {first}, (bad[first], result.describe())


@pytest.mark.parametrize("kind, text", [k for k in BAD_LINES if k[1] is not None])
def test_each_kind_of_bad_line_is_reported(kind, text, tmp_path, monkeypatch):
    _register_batch(monkeypatch)
    path = tmp_path / "d.jsonl"
    path.write_text(GOOD + "\n" + text + "\n" + GOOD + "\n")
    result = check(run_cli(["batch", "price", path, "-o", tmp_path / "o.csv", "--on-error", "skip",
                            "--rejects", tmp_path / "r.jsonl", "--summary", tmp_path / "s.json", "--no-progress"]),
                   expect=0)
    rejects = [json.loads(x) for x in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert [r["line"] for r in rejects] == [2], (kind, rejects, result.describe())
    summary = json.loads((tmp_path / "s.json").read_text())
    assert (summary["read"], summary["priced"], summary["rejected"]) == (3, 2, 1), (kind, summary)


@pytest.mark.parametrize("once, twice", [('"id": "x"', '"id": "x", "id": "y"'),
                                         ('{"code": "G"}', '{"code": "C", "code": "G"}')])
def test_duplicate_keys_in_a_batch_line_are_refused(tmp_path, monkeypatch, once, twice):
    # the columnar decoder keeps the last of two keys: the line is caught by its key count and refused by
    # the scalar path's strict reader, like `convmed price`
    _register_batch(monkeypatch)
    path = tmp_path / "d.jsonl"
    path.write_text(GOOD + "\n" + GOOD.replace(once, twice) + "\n")
    check(run_cli(["batch", "price", path, "-o", tmp_path / "o.csv", "--on-error", "skip", "--rejects",
                   tmp_path / "r.jsonl", "--no-progress"]), expect=0)
    rejects = [json.loads(x) for x in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert [r["line"] for r in rejects] == [2] and "duplicate key" in rejects[0]["message"], rejects
