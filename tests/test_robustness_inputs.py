"""Robustness of the input readers: money, dates, times, unknown fields, encodings, located errors.

Each test states a rule of the README (« Codes de sortie », « Robustesse ») and feeds one hostile
input through the real CLI (in-process); the fuzz tests in tests/fuzz/ generate thousands more.
"""

from __future__ import annotations

import json

import pytest

from fuzz.harness import check, located_problems, run_cli

BASE = {"date": "2025-01-10", "doctor": {"specialty": "medecine_generale", "sector": "S1"},
        "lines": [{"code": "G"}, {"code": "DE", "base_line": 0, "amount": "10.00"}]}


def _price(tmp_path, text: str | bytes, *args):
    path = tmp_path / "demande.json"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return run_cli(["price", path, *args]), path


def _with_amount(raw: str) -> str:
    return json.dumps(BASE).replace('"10.00"', raw)


@pytest.mark.parametrize("raw, expected", [
    ('"30,00"', 'utilisez un point comme séparateur décimal : "30.00"'),
    ("30.0", "nombre JSON refusé"),
    ("30", "nombre JSON refusé"),
    ('"-5.00"', "montant négatif refusé"),
    ('"30.001"', "trop de décimales (3) : au plus 2"),
    ('"1e5"', "pas de notation exponentielle"),
    ('"30.00\\n"', "espace ou fin de ligne"),
    ('" 30.00"', "espace ou fin de ligne"),
    ('"NaN"', "NaN et l'infini"),
    ('"1 000.00"', "séparateur de milliers"),
    ('"1234567890.00"', "au plus 9 chiffres"),
    ('"999999999999999999999999999999999999999999999999999999999999.123456789"', "au plus 9 chiffres"),
])
def test_money_is_a_decimal_string_with_a_clear_message(tmp_path, raw, expected):
    result, path = _price(tmp_path, _with_amount(raw))
    check(result, expect=2, files=[path])
    assert "/lines/1/amount" in result.err and expected in result.err, result.describe()
    assert result.err.count("\n") == 1, "one message per field, not one per schema pattern\n" + result.describe()


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinities_are_refused_with_their_line(tmp_path, token):
    text = json.dumps(BASE, indent=1).replace('"10.00"', token)
    result, path = _price(tmp_path, text)
    check(result, expect=2, files=[path])
    want = next(i for i, line in enumerate(text.splitlines(), 1) if token in line)
    assert [int(m["line"]) for m in located_problems(result.err)] == [want], result.describe()


@pytest.mark.parametrize("pointer, value, fragment", [
    ("/date", "2025-02-29", "is not a 'date'"),  # 2025 is not a leap year
    ("/date", "2023-02-29", "is not a 'date'"),
    ("/date", "2100-02-29", "is not a 'date'"),  # divisible by 100, not by 400
    ("/date", "2025-04-31", "is not a 'date'"),
    ("/date", "2025-01-10\n", ""),
    ("/time", "24:00", "does not match"),
    ("/time", "19:60", "does not match"),
    ("/time", "19:00\n", "does not match"),
    ("/time", "19:00+01:00", "does not match"),
    ("/time", "7:30", "does not match"),
])
def test_impossible_dates_and_bad_times_are_refused(tmp_path, pointer, value, fragment):
    claim = json.loads(json.dumps(BASE))
    claim[pointer.strip("/")] = value
    result, path = _price(tmp_path, json.dumps(claim))
    check(result, expect=2, files=[path])
    assert pointer in result.err and fragment in result.err, result.describe()


def test_29_february_of_a_leap_year_is_a_date(tmp_path):
    claim = dict(BASE, date="2028-02-29")
    result, _ = _price(tmp_path, json.dumps(claim))
    check(result, expect=0)


def test_unknown_fields_are_refused_not_ignored(tmp_path):
    claim = json.loads(json.dumps(BASE))
    claim["doctor"]["secteur"] = "S1"
    result, path = _price(tmp_path, json.dumps(claim, indent=2))
    check(result, expect=2, files=[path])
    assert "'secteur' was unexpected" in result.err and "/doctor" in result.err


def test_invalid_utf8_on_stdin_is_bad_input_not_an_internal_error():
    result = run_cli(["price", "-"], stdin=b'{"date": "2025-01-10",\n "x": "\xff"}')
    check(result, expect=2, files=["<stdin>"])
    assert "<stdin>:2: [encoding]" in result.err, result.describe()


def test_invalid_utf8_in_a_file_names_its_line(tmp_path):
    result, path = _price(tmp_path, b'{\n\n "date": "2025-01-10\xe9"}')
    check(result, expect=2, files=[path])
    assert f"{path}:3: [encoding]" in result.err, result.describe()


def test_deep_json_is_refused_with_a_line(tmp_path):
    result, path = _price(tmp_path, '{"date": "2025-01-10",\n"x": ' + "[" * 100_000 + "]" * 100_000 + "}")
    check(result, expect=2, files=[path])
    assert f"{path}:2: [too-deep]" in result.err, result.describe()


def test_integer_beyond_the_digit_limit_is_located(tmp_path):
    result, path = _price(tmp_path, '{"date": "2025-01-10",\n"lines": [{"code": "G", "base_line": ' + "9" * 5000 + "}]}")
    check(result, expect=2, files=[path])
    assert f"{path}:2: [json]" in result.err, result.describe()


def test_yaml_alias_is_refused_with_its_line(tmp_path):
    overlay = tmp_path / "surcouche.yaml"
    overlay.write_text("kind: overlay\nname: x\nrows:\n  - &a {code: G}\n  - *a\n")
    result = run_cli(["price", "examples/consultation-g-2025.json", "--overlay", overlay])
    check(result, expect=2, files=[overlay])
    assert f"{overlay}:4: [alias]" in result.err, result.describe()


@pytest.mark.parametrize("text, fragment", [
    ("kind: overlay\nname: x\nrows: [1, 2]\nbig: " + "9" * 5000 + "\n", ":4: [yaml] integer of 5000 characters refused"),
    ("kind: overlay\nname: \x00\n", ":2: [yaml] invalid YAML: control characters are not allowed"),
])
def test_yaml_scalar_faults_are_located_not_internal_errors(tmp_path, text, fragment):
    overlay = tmp_path / "o.yaml"
    overlay.write_text(text)
    result = run_cli(["price", "examples/consultation-g-2025.json", "--overlay", overlay])
    check(result, expect=2, files=[overlay])
    assert str(overlay) + fragment in result.err, result.describe()


def test_invalid_utf8_in_a_yaml_file_names_its_line(tmp_path):
    overlay = tmp_path / "o.yaml"
    overlay.write_bytes(b"kind: overlay\nname: x\nlabel: \xff\n")
    result = run_cli(["price", "examples/consultation-g-2025.json", "--overlay", overlay])
    check(result, expect=2, files=[overlay])
    assert f"{overlay}:3: [encoding]" in result.err, result.describe()
