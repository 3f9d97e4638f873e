"""Fuzz the YAML readers: `convmed price --overlay FILE` (an overlay) and the spec itself
(`convmed spec check --spec DIR`, `convmed diff --spec DIR`) with hostile YAML: anchors and aliases
(billion laughs), tags, merge keys, duplicate keys, floats or commas for money, impossible dates,
unknown keys, deep nesting, invalid UTF-8, control characters, truncation, huge files.
Overlay and diff: exit 2, located. spec check: exit 1 (the spec under check fails), each problem located.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from hypothesis import given, note
from hypothesis import strategies as st

from .harness import check, examples, fuzz_settings, located_problems, run_cli
from .strategies import impossible_date

REPO = Path(__file__).resolve().parents[2]
CLAIM = REPO / "examples" / "consultation-g-2025.json"

OVERLAY = """kind: overlay
name: essai
label: Essai de surcouche
rows:
  - code: G
    from: 2023-11-01
    until: 2024-12-22
    value: "26.50"
    label: Consultation
    source:
      reference: "ameli.fr"
      date: 2024-12-22
      reliability: official
"""

LAUGHS = "lol: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"l{i}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
    for i, (p, c) in enumerate(zip("abcdefgh", "bcdefghi")))


@st.composite
def bad_yaml(draw, base: str) -> tuple[str, bytes]:
    lines = base.splitlines(keepends=True)
    how = draw(st.sampled_from([
        "alias", "laughs", "tag", "merge", "duplicate", "unknown", "float_money", "comma_money", "nan_money",
        "bad_date", "deep_flow", "deep_block", "utf8", "control", "truncate", "not_mapping", "huge", "garbage"]))
    text = base
    if how == "alias":
        text = base.replace('value: "26.50"', 'value: &v "26.50"\n    label2: *v')
    elif how == "laughs":
        text = base + LAUGHS
    elif how == "tag":
        tag = draw(st.sampled_from(["!!python/object/apply:os.system ['true']", "!!float 26.5", "!!binary aGk=",
                                    "!custom x", "!!python/name:os.system", "!!set {a, b}", "!!omap [a: 1]"]))
        text = base.replace('value: "26.50"', f"value: {tag}")
    elif how == "merge":
        text = base.replace("    label: Consultation\n", "    <<: {label: Consultation}\n")
    elif how == "duplicate":
        i = draw(st.integers(0, len(lines) - 1))
        text = "".join(lines[: i + 1] + [lines[i]] + lines[i + 1:])
    elif how == "unknown":
        key = draw(st.from_regex(r"[a-z_]{1,20}", fullmatch=True).filter(
            lambda k: k not in {"kind", "name", "label", "description", "policy", "rows"}))
        text = base + f"{key}: 1\n"
    elif how == "float_money":
        text = base.replace('"26.50"', draw(st.sampled_from(["26.50", "26.5", "2650e-2", "26", "0x1A"])))
    elif how == "comma_money":
        text = base.replace('"26.50"', draw(st.sampled_from(['"26,50"', "26,50", '"26.50 €"', '"-"', '""'])))
    elif how == "nan_money":
        text = base.replace('"26.50"', draw(st.sampled_from([".nan", ".inf", "-.inf", ".NaN", '"NaN"'])))
    elif how == "bad_date":
        text = base.replace("2023-11-01", draw(impossible_date()))
    elif how == "deep_flow":
        d = draw(st.integers(65, 2_000_000))
        text = base.replace('"26.50"', "[" * d + "]" * d)
    elif how == "deep_block":
        d = draw(st.integers(65, 400))
        text = base + "x:\n" + "".join(" " * (i + 1) + f"k{i}:\n" for i in range(d))
    elif how == "utf8":
        raw = base.encode()
        pos = draw(st.integers(0, len(raw)))
        return "utf8", raw[:pos] + draw(st.sampled_from([b"\xff", b"\xc3(", b"\xed\xa0\x80"])) + raw[pos:]
    elif how == "control":
        ch = draw(st.sampled_from(["\x00", "\x01", "\x07", "\x1b", "\ufffe", "\x7f"]))
        text = base.replace("Essai", f"Es{ch}sai")
    elif how == "truncate":
        text = base[: draw(st.integers(0, len(base.rstrip()) - 1))]
    elif how == "not_mapping":
        text = draw(st.sampled_from(["", "~", "42", "- a\n- b\n", "'texte'", "[]", "{}", "---\n---\n", "a: 1\n---\nb: 2\n"]))
    elif how == "huge":
        text = base + "description: " + "x" * (5 * 2**20 + 10) + "\n"
    else:
        return "garbage", draw(st.binary(min_size=1, max_size=300))
    return how, text.encode("utf-8", "surrogatepass")


@fuzz_settings(examples(ci=120, local=50, full=2000))
@given(case=bad_yaml(OVERLAY))
def test_hostile_overlay_yaml_is_refused_with_location(tmp_path_factory, case):
    what, raw = case
    note(what)
    path = tmp_path_factory.getbasetemp() / "fuzz-overlay.yaml"
    path.write_bytes(raw)
    check(run_cli(["price", CLAIM, "--overlay", path], entry="price --overlay"), expect=2, files=[path])


def test_the_overlay_base_is_valid(tmp_path):
    path = tmp_path / "o.yaml"
    path.write_text(OVERLAY)
    check(run_cli(["price", CLAIM, "--overlay", path]), expect=0)


def _mini_spec(root: Path) -> Path:
    spec = root / "mini-spec"
    if not spec.exists():
        (spec / "acts" / "consultations").mkdir(parents=True)
        shutil.copy(REPO / "spec" / "meta.yaml", spec)
        shutil.copytree(REPO / "spec" / "vocabulary", spec / "vocabulary")
        shutil.copy(REPO / "spec" / "acts" / "consultations" / "G.yaml", spec / "acts" / "consultations")
    return spec


G_TEXT = (REPO / "spec" / "acts" / "consultations" / "G.yaml").read_text(encoding="utf-8")
G_BASE = G_TEXT.replace('value: "30.00"', 'value: "26.50"', 1) if 'value: "30.00"' in G_TEXT else G_TEXT


@fuzz_settings(examples(ci=15, local=10, full=300))
@given(case=bad_yaml(OVERLAY.replace("kind: overlay", "kind: act")), command=st.sampled_from(["check", "diff"]))
def test_hostile_spec_file_is_located_by_spec_check_and_diff(tmp_path_factory, case, command):
    what, raw = case
    note(what)
    spec = _mini_spec(tmp_path_factory.getbasetemp())
    path = spec / "acts" / "consultations" / "ZZ.yaml"
    path.write_bytes(raw)
    if command == "check":
        result = check(run_cli(["spec", "check", "--spec", spec], entry="spec check"), expect=1)
        assert any(m["file"].endswith("ZZ.yaml") for m in located_problems(result.err)), result.describe()
    else:
        # diff reads the spec without validating its schema: a parse fault is exit 2; a parseable file with
        # wrong content may be diffed (0) or refused (2), never an internal error.
        from convmed.model import _cached

        _cached.cache_clear()  # the in-process spec cache would hide the damaged file
        expect = 2 if what in PARSE_FAULTS else {0, 2}
        check(run_cli(["diff", "--from", "2024-01-01", "--to", "2025-01-01", "--spec", spec], entry="diff"),
              expect=expect, files=[path])


PARSE_FAULTS = {"alias", "laughs", "tag", "merge", "deep_flow", "deep_block", "utf8", "control", "huge"}
