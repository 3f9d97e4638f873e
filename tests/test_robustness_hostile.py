"""Issue 19, replayed so that none of its defects comes back: hostile lines in batch files (same verdict as
`convmed price`, job goes on), typed Parquet columns, CSV limits, outputs that never look complete, bounded
readers (devices, FIFOs), the one strict JSON reader (price, serve-oracle, patient files), spec bounds, forfait
inputs, unborn patients, messages cut and free of Python internals.

The expected verdicts come from the claim schema and SEMANTIQUE.md § 4.3 (what an invalid claim is), never
from the batch engine's output: each batch line is compared with `convmed price` on the same claim.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz.harness import check, run_cli

REPO = Path(__file__).resolve().parent.parent
PY = sys.executable
G = {"date": "2025-03-10", "doctor": {"id": "d1", "specialty": "medecine_generale", "sector": "S1"},
     "patient": {"id": "p1", "age_years": 40}, "lines": [{"code": "G"}]}
INTERNALS = ("Traceback", "set_int_max_str_digits", "utf-8-sig", "InvalidOperation", "PanicException",
             "internal error", "MemoryError", "polars.exceptions", "is a required property")


def no_internals(text: str) -> None:
    for word in INTERNALS:
        assert word not in text, f"{word!r} in\n{text[:2000]}"


# ---------------------------------------------------------------------------------------------- batch vs price
def _deep_history(levels: int) -> str:
    inner = "{}"
    for _ in range(levels):
        inner = '{"x": ' + inner + "}"
    return json.dumps({**G, "history": [{"date": "2025-01-01", "code": "G", "context": {}}]}).replace(
        '"context": {}', '"context": ' + inner)


HOSTILE = {
    "age 3e9 (beyond 32 bits)": json.dumps({**G, "patient": {"id": "p1", "age_years": 3_000_000_000}}),
    "counter 2^63 (beyond 64 bits)": json.dumps({**G, "doctor": {**G["doctor"], "counters": {"snp_this_week": 2**63}}}),
    "counter 10^30": json.dumps({**G, "doctor": {**G["doctor"], "counters": {"snp_this_week": 10**30}}}),
    "negative 2^63+1": json.dumps({**G, "patient": {"id": "p1", "age_years": 40, "tobacco_pack_years": -2**63 - 1}}),
    "duplicate key nested": json.dumps(G).replace('"sector": "S1"', '"sector": "S1", "sector": "S2"'),
    "duplicate key in history context": json.dumps({**G, "history": [{"date": "2025-01-01", "code": "G",
                                                                       "context": {"a": 1}}]}).replace('"a": 1', '"a": 1, "a": 2'),
    "escaped key": json.dumps(G).replace('"date"', '"\\u0064ate"'),
    "escaped duplicate key": json.dumps(G).replace('"age_years": 40', '"age_years": 40, "\\u0061ge_years": 41'),
    "escaped key with a wrong type": json.dumps(G).replace('"age_years": 40', '"\\u0061ge_years": "40"'),
    "lone surrogate": json.dumps({**G, "id": "\ud800x"}, ensure_ascii=True),
    "NaN": json.dumps(G).replace('"age_years": 40', '"age_years": NaN'),
    "300-level history context": _deep_history(300),
    "12-level history context": _deep_history(12),
    "70 lines": json.dumps({**G, "lines": [{"code": "G"}] * 70}),
    "5000-digit number": json.dumps(G).replace('"age_years": 40', '"age_years": ' + "9" * 5000),
}


def _price_verdict(tmp_path: Path, text: str):
    """`convmed price` on one claim: ("ok", [(code, status, amount, reason)]) or ("error", pointer)."""
    f = tmp_path / "claim.json"
    f.write_text(text, encoding="utf-8")
    result = check(run_cli(["price", f, "--format", "json"]), expect={0, 2}, files=[f])
    if result.rc == 2:
        first = result.err.splitlines()[0]
        pointer = first.split(": [")[0].split(" ", 1)[1] if " /" in first.split(": [")[0] else "/"
        return "error", pointer
    out = json.loads(result.out)
    return "ok", [(ln["code"], ln["status"], ln.get("amount"), ln.get("reason")) for ln in out["lines"]]


def _batch_verdicts(tmp_path: Path, texts: list[str], chunk_rows: int = 1000):
    from convmed.batch.run import price_file

    src = tmp_path / "in.jsonl"
    src.write_text("".join(t + "\n" for t in texts), encoding="utf-8")
    out, rej = tmp_path / "out.csv", tmp_path / "rejects.jsonl"
    summary = price_file(str(src), output=str(out), on_error="skip", rejects=str(rej), chunk_rows=chunk_rows)
    import polars as pl

    df = pl.read_csv(out, infer_schema=False) if out.stat().st_size else None
    rejects = {r["line"]: r for r in map(json.loads, rej.read_text(encoding="utf-8").splitlines())}
    verdicts = {}
    for row in range(1, len(texts) + 1):
        if row in rejects:
            verdicts[row] = ("error", rejects[row]["pointer"] or "/")
        else:
            lines = df.filter(pl.col("row") == str(row)).sort(pl.col("index").cast(pl.Int64))
            verdicts[row] = ("ok", [(r["code"], r["status"], r["amount"] or None, r["reason"] or None)
                                    for r in lines.iter_rows(named=True)])
    assert summary.read == len(texts) == summary.priced + summary.rejected
    return verdicts


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_a_hostile_line_gets_the_verdict_of_convmed_price_even_alone_in_its_chunk(tmp_path, kind):
    pytest.importorskip("polars")
    text = HOSTILE[kind]
    want = _price_verdict(tmp_path, text)
    good = json.dumps(G)
    # alone in its chunk (line 1001 of 1001, chunks of 1000), and among good lines of its chunk
    alone = _batch_verdicts(tmp_path, [good] * 1000 + [text])
    assert alone[1001] == want, (kind, alone[1001], want)
    assert all(v == alone[1] for r, v in alone.items() if r <= 1000)
    mixed = _batch_verdicts(tmp_path, [good, text, good])
    assert mixed[2] == want and mixed[1] == mixed[3] == alone[1], (kind, mixed)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["/patient/age_years", "/doctor/counters/snp_this_week",
                                           "/patient/tobacco_pack_years", "/lines/0/base_line", "/id"]),
                          st.one_of(st.integers(min_value=-2**70, max_value=2**70), st.text(max_size=5),
                                    st.booleans(), st.none())), min_size=1, max_size=3))
def test_random_hostile_values_same_verdict_as_price(tmp_path, edits):
    pytest.importorskip("polars")
    claim = copy.deepcopy(G)
    for pointer, value in edits:
        node = claim
        parts = pointer.strip("/").split("/")
        for p in parts[:-1]:
            node = node[int(p)] if p.isdigit() else node.setdefault(p, {})
        node[parts[-1]] = value
    text = json.dumps(claim)
    want = _price_verdict(tmp_path, text)
    got = _batch_verdicts(tmp_path, [json.dumps(G), text])
    assert got[2] == want, (text, got[2], want)


# ---------------------------------------------------------------------------------------------- typed Parquet
def test_parquet_columns_of_the_wrong_type_or_unknown_refuse_their_rows(tmp_path, capsys):
    pl = pytest.importorskip("polars")
    from convmed.batch.run import price_file

    base = {"date": "2025-03-10", "doctor": {"specialty": "medecine_generale", "sector": "S1"}}
    files = {
        "binary codes": pl.DataFrame([{**base, "codes": "G"}] * 2).with_columns(pl.col("codes").cast(pl.Binary)),
        "float age": pl.DataFrame([{**base, "patient": {"age_years": 3.5}, "lines": [{"code": "G"}]}] * 2),
        "binary code in lines": pl.DataFrame([{**base, "lines": [{"code": b"G"}]}] * 2),
        "unknown column with values": pl.DataFrame([{**base, "lines": [{"code": "G"}], "colour": "red"}] * 2),
        "string for a boolean": pl.DataFrame([{**base, "lines": [{"code": "G"}], "context": {"sent_by_mt": "yes"}}] * 2),
    }
    pointers = {"binary codes": "/codes", "float age": "/patient/age_years", "binary code in lines": "/lines",
                "unknown column with values": "/colour", "string for a boolean": "/context/sent_by_mt"}
    for name, df in files.items():
        src = tmp_path / "in.parquet"
        df.write_parquet(src)
        rej = tmp_path / f"{name}.rejects.jsonl"
        summary = price_file(str(src), output=str(tmp_path / "o.csv"), on_error="skip", rejects=str(rej))
        rejects = [json.loads(x) for x in rej.read_text().splitlines()]
        assert (summary.read, summary.rejected) == (2, 2), (name, summary)
        assert [r["line"] for r in rejects] == [1, 2] and {r["pointer"] for r in rejects} == {pointers[name]}, name
        no_internals(json.dumps(rejects))
    # a column the schema does not have, with no value: dropped, said on stderr, rows priced
    src = tmp_path / "in.parquet"
    pl.DataFrame([{**base, "lines": [{"code": "G"}], "colour": None}] * 2).write_parquet(src)
    summary = price_file(str(src), output=str(tmp_path / "o.csv"), on_error="skip", rejects=str(tmp_path / "r.jsonl"))
    assert (summary.priced, summary.rejected) == (2, 0)
    assert "colonne inconnue 'colour'" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------- CSV limits
def test_csv_header_field_and_depth_limits(tmp_path):
    pytest.importorskip("polars")
    head = "date,doctor.specialty,doctor.sector,patient.age_years,lines"
    big_header = tmp_path / "h.csv"
    big_header.write_text(head + "," + "x" * 200_000 + "\n")
    result = check(run_cli(["batch", "price", big_header, "-o", tmp_path / "o.csv"]), expect=2, files=[big_header])
    assert "en-tête CSV de plus de" in result.err
    twice = tmp_path / "t.csv"
    twice.write_text("date,doctor.specialty,doctor.sector,codes,date\n")
    assert "en double" in check(run_cli(["batch", "price", twice, "-o", tmp_path / "o.csv"]), expect=2,
                                files=[twice]).err
    rows = tmp_path / "r.csv"
    good = '2025-03-10,medecine_generale,S1,40,"[{""code"": ""G""}]"'
    rows.write_text(head + "\n" + good + "\n"
                    + "2025-03-10,medecine_generale,S1,40," + "[" * 300 + "]" * 300 + "\n"
                    + '2025-03-10,medecine_generale,S1,40,"' + "x" * 200_000 + '"\n'
                    + "2025-03-10,medecine_generale,S1,3000000000," + good.split(",", 4)[4] + "\n" + good + "\n")
    t0 = time.monotonic()
    result = check(run_cli(["batch", "price", rows, "-o", tmp_path / "o.csv", "--on-error", "skip", "--rejects",
                            tmp_path / "rej.jsonl", "--no-progress"], timeout=60), expect=0)
    assert time.monotonic() - t0 < 30
    rejects = {r["line"]: r for r in map(json.loads, (tmp_path / "rej.jsonl").read_text().splitlines())}
    assert set(rejects) == {3, 4, 5}, rejects
    assert rejects[5]["pointer"] == "/patient/age_years"
    no_internals(result.err)


# ---------------------------------------------------------------------------------------------- outputs
def _claims_file(tmp_path: Path, n: int) -> Path:
    src = tmp_path / "big.jsonl"
    lines = [json.dumps({**G, "id": f"c{i}", "patient": {"id": f"p{i}", "age_years": 20 + i % 60}}) for i in range(n)]
    src.write_text("\n".join(lines) + "\n")
    return src


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_an_interrupted_batch_leaves_no_output_that_looks_complete(tmp_path, sig, code, fmt):
    pytest.importorskip("polars")
    src = _claims_file(tmp_path, 300_000)
    out = tmp_path / "out" / f"priced.{fmt}"
    out.parent.mkdir()
    proc = subprocess.Popen([PY, "-m", "convmed", "batch", "price", str(src), "-o", str(out), "--on-error", "skip",
                             "--chunk-rows", "1000", "--summary", str(tmp_path / "out" / "s.json"), "--no-progress"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(out.parent.iterdir()):
        time.sleep(0.05)   # the temporary output exists: the job is writing
    time.sleep(0.5)
    proc.send_signal(sig)
    rc = proc.wait(timeout=60)
    err = proc.stderr.read().decode()
    no_internals(err)
    if rc == 0:
        pytest.skip("the job finished before the signal (a very fast machine)")
    assert rc == code, err
    assert list(out.parent.iterdir()) == []   # no output, no rejects, no summary, no temporary file


def test_on_error_stop_leaves_nothing_and_a_full_disk_is_located(tmp_path):
    pytest.importorskip("polars")
    src = tmp_path / "in.jsonl"
    src.write_text((json.dumps(G) + "\n") * 5000 + "not json\n")
    out = tmp_path / "out" / "o.csv"
    out.parent.mkdir()
    result = check(run_cli(["batch", "price", src, "-o", out, "--chunk-rows", "1000"], timeout=60), expect=2,
                   files=[src])
    assert f"{src}:5001" in result.err and list(out.parent.iterdir()) == []
    if os.path.exists("/dev/full"):
        bad = tmp_path / "bad.jsonl"
        bad.write_text((json.dumps(G) + "\n" + "x\n") * 50)
        for args in (["-o", "/dev/full", "--on-error", "skip", "--rejects", tmp_path / "r.jsonl"],
                     ["-o", tmp_path / "o.csv", "--on-error", "skip", "--rejects", "/dev/full"]):
            result = check(run_cli(["batch", "price", bad, *args]), expect=2, files=[bad, "/dev/full"])
            assert "/dev/full: [io] écriture impossible" in result.err
        result = check(run_cli(["price", REPO / "examples" / "consultation-g-2025.json", "--format", "json"]),
                       expect=0)
        assert result.out   # (in-process stdout is a buffer; the real /dev/full is the subprocess case below)
        proc = subprocess.run(f"{PY} -m convmed price examples/consultation-g-2025.json > /dev/full", shell=True,
                              capture_output=True, cwd=REPO, timeout=60)
        assert proc.returncode == 2 and b"<stdout>: [io]" in proc.stderr and b"Traceback" not in proc.stderr
    assert check(run_cli(["batch", "price", src, "-o", "/dev/null", "--on-error", "skip", "--rejects",
                          tmp_path / "r.jsonl"], timeout=60), expect=0)
    result = check(run_cli(["batch", "price", src, "-o", tmp_path / "o.csv", "--chunk-rows", "7"]), expect=2)
    assert "--chunk-rows" in result.err


# ---------------------------------------------------------------------------------------------- bounded readers
def test_devices_fifos_and_symlinks_to_them_are_refused_before_reading(tmp_path):
    fifo = tmp_path / "claim.json"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.json"
    zero.symlink_to("/dev/zero")
    for path in (fifo, zero):
        t0 = time.monotonic()
        result = check(run_cli(["price", path], timeout=10), expect=2, files=[path])
        assert "not a regular file" in result.err and time.monotonic() - t0 < 5
    # a spec file that is a FIFO or a device: spec check neither blocks nor reads 3 GB
    clone = tmp_path / "clone"
    clone.mkdir()
    shutil.copy(REPO / "pyproject.toml", clone)
    for name in ("spec", "schemas"):
        shutil.copytree(REPO / name, clone / name)
    os.mkfifo(clone / "spec" / "acts" / "consultations" / "FIFO.yaml")
    (clone / "spec" / "acts" / "consultations" / "ZERO.yaml").symlink_to("/dev/zero")
    proc = subprocess.run([PY, "-m", "convmed", "spec", "check"], cwd=clone, capture_output=True, text=True,
                          timeout=60, env={**os.environ, "CONVMED_NO_CACHE": "1"})
    assert proc.returncode in (1, 2) and "FIFO.yaml" in proc.stderr and "ZERO.yaml" in proc.stderr, proc.stderr
    no_internals(proc.stderr)


def _clone_with(tmp_path: Path, rel: str, old: str, new: str) -> Path:
    clone = tmp_path / "clone"
    clone.mkdir(exist_ok=True)
    shutil.copy(REPO / "pyproject.toml", clone)
    for name in ("spec", "schemas"):
        if not (clone / name).exists():
            shutil.copytree(REPO / name, clone / name)
    f = clone / rel
    text = f.read_text(encoding="utf-8")
    assert old in text
    f.write_text(text.replace(old, new, 1), encoding="utf-8")
    return clone


@pytest.mark.parametrize("new, fragment", [
    ('value: "' + "9" * 60 + '"', "/values/"),
    ('value: "-30.00"', "/values/"),
])
def test_a_spec_value_out_of_bounds_is_refused_by_spec_check_and_by_price(tmp_path, seeds, new, fragment):
    clone = _clone_with(tmp_path, "spec/acts/consultations/G.yaml", 'value: "30.00"', new)
    env = {**os.environ, "CONVMED_NO_CACHE": "1", "CONVMED_SOURCES": str(seeds)}
    check_run = subprocess.run([PY, "-m", "convmed", "spec", "check"], cwd=clone, capture_output=True, text=True,
                               env=env, timeout=120)
    assert check_run.returncode == 1 and "G.yaml" in check_run.stderr, check_run.stderr
    price = subprocess.run([PY, "-m", "convmed", "price", str(REPO / "examples" / "consultation-g-2025.json")],
                           cwd=clone, capture_output=True, text=True, env=env, timeout=120)
    assert price.returncode == 2 and "G.yaml" in price.stderr and fragment in price.stderr, price.stderr
    no_internals(price.stderr + price.stdout)
    assert "-30.00" not in price.stdout


def test_a_blank_quote_and_an_unreadable_seed_fail_spec_check_located(tmp_path, seeds):
    clone = _clone_with(tmp_path, "spec/acts/consultations/G.yaml", "quote: G = 30 €", "quote: '   '")
    copied = tmp_path / "seeds"
    shutil.copytree(seeds, copied)
    victim = sorted(copied.glob("*.txt"))[0]
    victim.write_bytes(victim.read_bytes()[:100] + b"\xff\xfe" + victim.read_bytes()[100:])
    proc = subprocess.run([PY, "-m", "convmed", "spec", "check"], cwd=clone, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "CONVMED_NO_CACHE": "1", "CONVMED_SOURCES": str(copied)})
    assert proc.returncode == 1, proc.stderr
    assert "G.yaml" in proc.stderr and "/quote" in proc.stderr
    assert "seed unreadable" in proc.stderr and victim.name in proc.stderr and "not UTF-8" in proc.stderr
    no_internals(proc.stderr)


# ---------------------------------------------------------------------------------------------- strict JSON
def test_serve_oracle_answers_every_hostile_line_and_goes_on():
    lines = [b'{"id": 1, "kind": "claim", "input": {"date": NaN}}',
             b'{"id": 2, "id": 3}',
             b'{"id": "\\ud800", "input": {}}',
             b"[" * 100_000 + b"]" * 100_000,
             b"\xff\xfe",
             b'{"id": ' + b"9" * 5000 + b"}",
             b'{"id": "' + b"x" * (6 * 2**20) + b'"}',
             json.dumps({"id": 9, "kind": "claim", "input": G}).encode()]
    proc = subprocess.run([PY, "-m", "convmed", "conformance", "serve-oracle"], input=b"\n".join(lines) + b"\n",
                          capture_output=True, timeout=120, cwd=REPO)
    assert proc.returncode == 0 and b"Traceback" not in proc.stderr
    answers = [json.loads(x) for x in proc.stdout.decode("utf-8").splitlines()]   # valid JSON, one per line
    assert len(answers) == len(lines)
    assert all("error" in a for a in answers[:-1]), answers
    assert answers[-1]["id"] == 9 and answers[-1]["output"]["lines"][0]["amount"] == "30.00"
    no_internals(json.dumps(answers))


@pytest.mark.parametrize("bad", ['"' + "1" * 40 + '"', '"NaN"', '["x"]', '{"a": 1}', '"1e5"', '"0.' + "1" * 40 + '"'])
def test_hostile_forfait_inputs_are_located(tmp_path, bad):
    cases = json.loads((REPO / "conformance_tests" / "v1" / "forfaits-social.json").read_text())["cases"]
    base = next(c["input"] for c in cases if c.get("kind") == "forfait" and c["input"].get("inputs"))
    for key in base["inputs"]:
        req = copy.deepcopy(base)
        req["inputs"][key] = json.loads(bad)
        f = tmp_path / "req.json"
        f.write_text(json.dumps(req))
        result = check(run_cli(["forfait", req["scheme"], f]), expect={0, 1, 2}, files=[f])
        no_internals(result.err)


def test_unborn_patients_duplicate_columns_and_huge_ages_are_refused(tmp_path):
    req = tmp_path / "fmt.json"
    req.write_text(json.dumps({"scheme": "fmt", "doctor": {"specialty": "medecine_generale", "sector": "S1"}}))
    cases = {
        "unborn.jsonl": ('{"id": "a", "birth_date": "1980-01-01"}\n{"id": "b", "birth_date": "2027-05-01"}\n', 2,
                         "/birth_date"),
        "unborn.csv": ("id,birth_date\na,1980-01-01\nb,2027-05-01\n", 3, "/birth_date"),
        "twice.csv": ("id,age,age\na,40,41\n", 1, None),
        "huge.csv": ("id,age\na," + "9" * 5000 + "\n", 2, "/age"),
    }
    for name, (text, line, pointer) in cases.items():
        p = tmp_path / name
        p.write_text(text)
        for cmd in (["forfait", "fmt", req, "--patients", p, "--year", "2026"],
                    ["batch", "forfait", "fmt", p, "--request", req, "--year", "2026"]):
            if cmd[0] == "batch":
                pytest.importorskip("polars")
            result = check(run_cli(cmd, timeout=60), expect=2, files=[p])
            assert f"{p}:{line}" in result.err, (name, cmd[0], result.err)
            if pointer:
                assert pointer in result.err
            no_internals(result.err)


# ---------------------------------------------------------------------------------------------- messages
def test_messages_are_cut_and_lookup_refuses_codes_price_refuses(tmp_path):
    f = tmp_path / "c.json"
    f.write_text(json.dumps({**G, "id": "x" * 3_000_000}))   # the schema's message quotes the whole value
    result = check(run_cli(["price", f]), expect=2, files=[f])
    assert len(result.err) < 2000 and "caractères en tout" in result.err
    for code in ["", "\u202eG", "G\n", "g"]:
        result = check(run_cli(["lookup", code, "--date", "2025-03-01"]), expect=2)
        assert "mal formé" in result.err and "\u202e" not in result.err and "\n" not in result.err.rstrip("\n")
    big = tmp_path / "many.json"
    big.write_text(json.dumps({**G, "lines": [{"code": "G"}] * 70_000}))
    t0 = time.monotonic()
    result = check(run_cli(["price", big], timeout=30), expect=2, files=[big])
    assert "70000 éléments : au plus 50" in result.err and time.monotonic() - t0 < 10


# ---------------------------------------------------------------------------------------------- deferred signals
def test_signals_are_deferred_to_the_next_checkpoint_and_a_second_one_stops_at_once():
    """A Ctrl-C that lands inside a polars call made Rust panic with a Python traceback inside (seen once in the
    interrupted-batch test): long jobs record the signal and raise it at their next checkpoint."""
    from convmed.interrupts import Terminated, checkpoint, deferred

    reached = []
    with pytest.raises(KeyboardInterrupt) as info:
        with deferred():
            os.kill(os.getpid(), signal.SIGINT)
            reached.append("after the signal")   # not raised where it landed
            checkpoint()
            reached.append("after the checkpoint")
    assert reached == ["after the signal"] and type(info.value) is KeyboardInterrupt
    with pytest.raises(Terminated):
        with deferred():
            os.kill(os.getpid(), signal.SIGTERM)
            reached.append("end of block")      # a signal still pending at the end of the block is raised there
    assert reached[-1] == "end of block"
    with pytest.raises(KeyboardInterrupt):
        with deferred():
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)   # the second one: at once
            reached.append("never")
    assert reached[-1] != "never"
    with pytest.raises(Terminated):   # the second signal decides the status: SIGTERM after Ctrl-C is 143
        with deferred():
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGTERM)
    checkpoint()   # nothing pending once the block is left; the previous handlers are back
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
