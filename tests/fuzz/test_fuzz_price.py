"""Fuzz `convmed price` (file and stdin): every malformed claim exits 2 with a located message."""

from __future__ import annotations

import json

from hypothesis import given, note
from hypothesis import strategies as st

from .harness import check, examples, fuzz_settings, run_cli
from .strategies import CLAIM_BASES, any_json, bad_claim, bad_json_text


@fuzz_settings(examples(ci=300, local=80, full=3000))
@given(case=bad_claim(), via_stdin=st.booleans())
def test_malformed_claim_is_refused_with_location(tmp_path_factory, case, via_stdin):
    what, data = case
    note(what)
    if via_stdin:
        result = run_cli(["price", "-"], stdin=data, entry="price")
        check(result, expect=2, files=["<stdin>"])
    else:
        path = tmp_path_factory.getbasetemp() / "fuzz-claim.json"
        path.write_bytes(data)
        result = run_cli(["price", path, "--format", "text"], entry="price")
        check(result, expect=2, files=[path])


@fuzz_settings(examples(ci=100, local=30, full=1000))
@given(value=any_json())
def test_arbitrary_json_never_crashes_price(tmp_path_factory, value):
    path = tmp_path_factory.getbasetemp() / "fuzz-any.json"
    path.write_text(json.dumps(value))
    check(run_cli(["price", path], entry="price"), expect=2, files=[path])


@fuzz_settings(examples(ci=100, local=30, full=1000))
@given(base=st.sampled_from(CLAIM_BASES), data=st.data())
def test_damaged_json_text_is_refused(tmp_path_factory, base, data):
    what, raw = data.draw(bad_json_text(base))
    note(what)
    path = tmp_path_factory.getbasetemp() / "fuzz-text.json"
    path.write_bytes(raw)
    check(run_cli(["price", path], entry="price"), expect=2, files=[path])


def test_the_valid_bases_are_priced(tmp_path):
    """The mutations start from valid claims: the unmutated ones must exit 0 (else the fuzz proves nothing)."""
    for i, claim in enumerate(CLAIM_BASES):
        path = tmp_path / f"base{i}.json"
        path.write_text(json.dumps(claim))
        result = check(run_cli(["price", path]), expect=0)
        assert json.loads(result.out)["lines"], result.describe()
