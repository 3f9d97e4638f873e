"""The batch engine agrees to the cent with the scalar oracle (convmed.pricing.price_claim): on every
claim of the conformance vectors and on generated claims (codes, dates, ages and facts drawn around
the spec's own bounds; some with a history, which takes the scalar path)."""

from __future__ import annotations

import json

import pytest

pl = pytest.importorskip("polars")

from convmed.batch.engine import BatchEngine, validate_claim  # noqa: E402
from convmed.batch.generate import generate_claims  # noqa: E402
from convmed.batch.readers import read_jsonl  # noqa: E402
from convmed.pricing import price_claim  # noqa: E402


def _scalar_rows(claims, spec):
    rows = []
    for n, claim in enumerate(claims, start=1):
        if validate_claim(claim):
            continue
        res = price_claim(claim, spec)
        for line in res["lines"]:
            rows.append((n, line["index"], line["code"], line["status"], line.get("amount"), line.get("reason"),
                         res["total"], res["complete"]))
    return rows


def _batch_rows(claims, spec, tmp_path, chunk_rows=2000):
    path = tmp_path / "claims.jsonl"
    path.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in claims), encoding="utf-8")
    engine = BatchEngine(spec)
    parts, rejected = [], []
    for df, rejects, claim_of in read_jsonl(str(path), engine, chunk_rows):
        rejected += rejects
        if df.height:
            res = engine.price_chunk(df, claim_of)
            parts.append(res.out)
            rejected += res.rejects
    out = pl.concat(parts)
    cols = ["row", "index", "code", "status", "amount", "reason", "total", "complete"]
    return out.select(cols).rows(), rejected, engine


def _claims_of_vectors(repo):
    claims = []
    for f in sorted((repo / "conformance_tests" / "v1").glob("*.json")):
        data = json.loads(f.read_text(encoding="utf-8"))
        for case in data.get("cases", []):
            if case.get("kind") == "claim" and isinstance(case.get("input"), dict):
                claims.append(case["input"])
    return claims


def test_every_conformance_vector_agrees(repo, spec, tmp_path):
    claims = _claims_of_vectors(repo)
    assert len(claims) > 50
    got, rejected, _ = _batch_rows(claims, spec, tmp_path, chunk_rows=97)
    expected = _scalar_rows(claims, spec)
    assert got == expected
    # the vectors are valid claims: none is refused as input
    assert not rejected


def test_generated_claims_agree_to_the_cent(spec, tmp_path):
    claims = list(generate_claims(6000, seed=20261123, spec=spec, history_rate=0.05))
    got, rejected, engine = _batch_rows(claims, spec, tmp_path, chunk_rows=1500)
    expected = _scalar_rows(claims, spec)
    assert not rejected
    assert len(got) == len(expected)
    diffs = [(a, b) for a, b in zip(got, expected) if a != b]
    assert diffs == []
    assert engine.stats["scalar_rows"] > 0          # claims with a history went the scalar path
    statuses = {r[3] for r in got}
    assert {"priced", "refused"} <= statuses        # the sample exercises both outcomes


def test_national_profile_deduplicates_and_agrees(spec, tmp_path):
    claims = list(generate_claims(4000, seed=7, spec=spec, profile="national", history_rate=0.0))
    got, rejected, engine = _batch_rows(claims, spec, tmp_path, chunk_rows=1000)
    assert not rejected
    assert got == _scalar_rows(claims, spec)
    # the same signature is priced once for many claims
    assert engine.stats["signatures"] < len(claims)
