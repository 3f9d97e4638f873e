"""Safe, located reading of YAML and JSON (oracle/convmed/yamlio.py)."""

import pytest

from convmed.errors import ConvmedError
from convmed.yamlio import json_line_map, load_json_text, load_yaml_text


def problem(fn, *args, **kw):
    with pytest.raises(ConvmedError) as info:
        fn(*args, **kw)
    assert len(info.value.problems) == 1
    return info.value.problems[0]


def test_yaml_keeps_dates_as_text_and_floats_as_floats():
    data, lines = load_yaml_text("from: 2024-12-22\nvalue: 30.0\ntext: '30.00'\n")
    assert data == {"from": "2024-12-22", "value": 30.0, "text": "30.00"}
    assert lines.line_for("/value") == 2 and lines.line_for("/text") == 3


def test_yaml_line_map_points_into_lists():
    data, lines = load_yaml_text("a:\n  - x: 1\n  - x: 2\n    y: 3\n")
    assert lines.line_for("/a/1/y") == 4 and lines.line_for("/a/1/missing") == 3


def test_yaml_duplicate_key_names_both_lines():
    p = problem(load_yaml_text, "kind: act\ncode: G\ncode: C\n", "f.yaml")
    assert (p.file, p.line, p.pointer, p.code) == ("f.yaml", 3, "/code", "duplicate-key")
    assert "first at line 2" in p.message


def test_yaml_billion_laughs_refused_without_expansion():
    bomb = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for i in range(1, 9):
        bomb += f"{chr(97 + i)}: &{chr(97 + i)} [" + ",".join([f"*{chr(96 + i)}"] * 9) + "]\n"
    p = problem(load_yaml_text, bomb, "bomb.yaml")
    assert p.code == "alias"


def test_yaml_merge_key_refused():
    assert problem(load_yaml_text, "<<: {a: 1}\n").code in ("alias", "bad-key")


def test_yaml_depth_and_size_bounded():
    deep = "a: " + "[" * 100 + "]" * 100 + "\n"
    assert problem(load_yaml_text, deep).code == "too-deep"
    assert problem(load_yaml_text, "a: b\n" * 10, max_bytes=20).code == "too-large"


def test_yaml_unsafe_tags_are_not_constructed():
    p = problem(load_yaml_text, "x: !!python/object/apply:os.system ['echo pwned']\n", "t.yaml")
    assert (p.code, p.line, p.pointer) == ("tag", 1, "/x")
    assert problem(load_yaml_text, "x: !custom 3\n").code == "tag"


def test_yaml_explicit_standard_tags_are_refused_with_their_place():
    # `!!float 26.5` would compose like a plain float (found by the full fuzz run: `diff` read it silently)
    p = problem(load_yaml_text, "a: 1\nvalues:\n  - value: !!float 26.5\n", "t.yaml")
    assert (p.code, p.line, p.pointer) == ("tag", 3, "/values/0/value")
    assert problem(load_yaml_text, "x: [!!str a]\n").pointer == "/x/0"
    assert load_yaml_text("note: \"Attention ! oui\"\nb: x !y\n")[0] == {"note": "Attention ! oui", "b": "x !y"}


def test_a_problem_is_always_one_line_even_with_control_characters():
    from convmed.errors import Located

    text = Located("unknown key '\x1e0'\nnext", file="p.jsonl", line=1, pointer="/\x1e0").render()
    assert text.splitlines() == [text] and "\\x1e0" in text and "\\x0a" in text
    assert Located("clé ü", file="f", pointer="/ab").render() == "f /ab: [error] clé ü"
    # a pointer is one word of the line: a space in a key is escaped there (kept as is in JSON reports)
    assert Located("unknown key ' '", file="p.jsonl", line=1, pointer="/ ").render() == "p.jsonl:1 /\\x20: [error] unknown key ' '"


def test_yaml_syntax_error_located():
    p = problem(load_yaml_text, "a: 1\nb: [\n", "s.yaml")
    assert p.file == "s.yaml" and p.line is not None and p.code == "yaml"


def test_json_duplicate_key_nan_and_syntax():
    assert problem(load_json_text, '{"a": 1,\n "a": 2}').code == "duplicate-key"
    assert problem(load_json_text, '{"a": NaN}').code == "json"
    assert problem(load_json_text, '{"a": Infinity}').code == "json"
    p = problem(load_json_text, '{\n"a": 1,\n}')
    assert p.line == 3


def test_json_line_map():
    text = '{\n "date": "2025-01-10",\n "lines": [\n  {"code": "G"},\n  {\n   "code": "MEG"\n  }\n ]\n}'
    lines = json_line_map(text)
    assert lines.line_for("/date") == 2 and lines.line_for("/lines/1/code") == 6 and lines.line_for("/lines/0") == 4


def test_json_line_is_one_line_for_every_reader():
    # one writer for every JSON Lines output (batch rejects, conformance report, adapter protocol, serve-oracle)
    import json

    from convmed.yamlio import json_line

    obj = {"text": "a\u0085b\u2028c\u2029d\né", "n": 1}
    line = json_line(obj)
    assert line.endswith("\n") and line[:-1].splitlines() == [line[:-1]] and json.loads(line) == obj
    assert "é" in line  # not ASCII-escaped
    assert json_line({"a": [1, 2]}, separators=(",", ":")) == '{"a":[1,2]}\n'
