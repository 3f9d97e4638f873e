"""Hypothesis strategies of malformed inputs for convmed's entry points.

Each `bad_*` strategy yields input that is invalid BY CONSTRUCTION (from the published schemas and
the README's rules, not from running the oracle): a wrong type, a float or a comma where money is a
decimal string, NaN, an infinity, a negative or over-precise amount, an impossible date (29 February
of a non-leap year, 31 April...), a bad time, an unknown field, a missing required field, a huge
string, deep nesting, a duplicate key, truncated JSON, invalid UTF-8... The harness then asserts
exit status 2 with a located message.
"""

from __future__ import annotations

import calendar
import json
import random

from hypothesis import strategies as st


class Raw:
    """A JSON token written verbatim (NaN, Infinity, 30.0, a 400-digit number...)."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self):
        return f"Raw({self.text})"


class Pairs(list):
    """A JSON object as a list of (key, value) pairs: keys may repeat (duplicate-key tests)."""


def dumps(obj) -> str:
    if isinstance(obj, Raw):
        return obj.text
    if isinstance(obj, Pairs):
        return "{" + ", ".join(f"{json.dumps(k)}: {dumps(v)}" for k, v in obj) + "}"
    if isinstance(obj, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {dumps(v)}" for k, v in obj.items()) + "}"
    if isinstance(obj, list):
        return "[" + ", ".join(dumps(v) for v in obj) + "]"
    return json.dumps(obj, ensure_ascii=False)


# ------------------------------------------------------------------ leaf values that are always wrong

NON_LEAP_YEARS = [y for y in range(1901, 2100) if not calendar.isleap(y)]


@st.composite
def impossible_date(draw) -> str:
    kind = draw(st.sampled_from(["feb29", "feb30", "day31", "month", "day0", "year0", "day32"]))
    if kind == "feb29":
        return f"{draw(st.sampled_from(NON_LEAP_YEARS)):04d}-02-29"
    y = draw(st.integers(1900, 2099))
    if kind == "feb30":
        return f"{y:04d}-02-{draw(st.sampled_from([30, 31]))}"
    if kind == "day31":
        return f"{y:04d}-{draw(st.sampled_from([4, 6, 9, 11])):02d}-31"
    if kind == "month":
        return f"{y:04d}-{draw(st.sampled_from([0, 13, 19, 99])):02d}-01"
    if kind == "day0":
        return f"{y:04d}-{draw(st.integers(1, 12)):02d}-00"
    if kind == "year0":
        return "0000-01-01"
    return f"{y:04d}-{draw(st.integers(1, 12)):02d}-{draw(st.integers(32, 99))}"


def malformed_date():
    return st.one_of(
        impossible_date(),
        st.sampled_from(["2025-1-1", "25-01-10", "2025/01/10", "10/01/2025", "2025-01-10T10:00:00", "20250110",
                         "2025-01-10 ", " 2025-01-10", "2025-01-10\n", "", "aujourd'hui", "2025-W02-5", "+2025-01-10", "２０２５-01-10"]),
        st.integers(-10**6, 10**9).map(lambda i: i),
        st.none(), st.booleans(), st.just(Raw("20250110.0")), st.lists(st.integers(), max_size=3),
    )


def malformed_time():
    return st.one_of(
        st.sampled_from(["24:00", "12:60", "7:30", "07:5", "12:30:00", "12h30", "", "12:30Z", "12:30+01:00",
                         "25:00", "-1:00", "19:00 ", "19:00\n", "T19:00", "19.00", "１９:00", "99:99"]),
        st.integers(0, 2400), st.none(), st.booleans(), st.just(Raw("19.5")),
    )


HUGE_DIGITS = "9" * 60


def malformed_money(negative_is_wrong: bool = True):
    """What is never a decimal money string in convmed (README: money is "30.00")."""
    tokens = [Raw("30.0"), Raw("30"), Raw("30.00"), Raw("1e3"), Raw("-0.0"), Raw("NaN"), Raw("Infinity"),
              Raw("-Infinity"), Raw("1" + "0" * 400), Raw("0.1e-400")]
    texts = ["30,00", "30,5", "1 000.00", "30.00 €", "€30", "30.", ".50", "+30.00", "1e5", "3E1", "0x1E",
             "NaN", "nan", "Infinity", "-inf", "", " ", "30.00 ", " 30.00", "trente", "30..0", "--5", "3O.00",
             "٣٠.٠٠", "30\u00a000", "1_000.00", "030.00", "00.5", "30.00\n", "30.00\r\n", "\n30.00", "30.00\u2028"]
    if negative_is_wrong:
        texts += ["-5.00", "-0.01", "-30"]
    return st.one_of(st.sampled_from(tokens), st.sampled_from(texts), st.booleans(), st.none(),
                     st.lists(st.just("30.00"), min_size=1, max_size=2), st.just({"value": "30.00"}),
                     st.floats(allow_nan=False, allow_infinity=False).map(lambda f: Raw(repr(float(f)))))


def wrong_type_for(kind: str):
    """Values of a JSON type the field does not accept."""
    choices = {
        "bool": st.one_of(st.integers(-2, 2), st.sampled_from(["true", "false", "oui", "1", ""]), st.none(),
                          st.just(Raw("1.0")), st.lists(st.booleans(), max_size=2), st.just({})),
        "string": st.one_of(st.integers(), st.booleans(), st.none(), st.just(Raw("1.5")), st.lists(st.text(max_size=3), max_size=2),
                            st.just({"a": 1})),
        "object": st.one_of(st.integers(), st.text(max_size=5), st.booleans(), st.none(), st.lists(st.integers(), max_size=2)),
        "array": st.one_of(st.integers(), st.text(max_size=5), st.booleans(), st.none(), st.just({"0": {"code": "G"}})),
    }
    return choices[kind]


def int_out_of_range(lo: int | None, hi: int | None):
    options = [st.sampled_from(["1", "12", "", "douze"]), st.just(Raw("1.5")), st.just(Raw("NaN")), st.booleans(),
               st.none(), st.just(Raw("1" + "0" * 5000))]
    if lo is not None:
        options.append(st.integers(max_value=lo - 1).filter(lambda i: i > -10**30))
    if hi is not None:
        options.append(st.integers(min_value=hi + 1).filter(lambda i: i < 10**30))
    return st.one_of(*options)


def huge_string(min_size=201):
    return st.integers(min_size, 300_000).map(lambda n: "é" * n)


def not_in(values):
    return st.one_of(st.text(max_size=30).filter(lambda s: s not in values),
                     st.sampled_from([v.lower() for v in values if v.lower() not in values] +
                                     [v.upper() + " " for v in values] or ["?"]),
                     st.integers(), st.none(), st.booleans())


# ------------------------------------------------------------------ claims

CLAIM_BASES = [
    {"id": "a", "date": "2025-01-10", "time": "10:30", "territory": "metropole",
     "doctor": {"specialty": "medecine_generale", "sector": "S1"},
     "patient": {"birth_date": "2021-05-04", "has_mt": True}, "lines": [{"code": "G"}, {"code": "MEG"}]},
    {"date": "2017-07-01", "doctor": {"specialty": "rhumatologie", "sector": "S1"},
     "patient": {"age_years": 54, "has_mt": True}, "context": {"sent_by_mt": True, "report_to_mt": True},
     "lines": [{"code": "CS"}, {"code": "MPC"}, {"code": "MCS"}]},
    {"date": "2025-03-03", "doctor": {"specialty": "medecine_generale", "sector": "S1", "option": "none"},
     "patient": {"age_years": 40}, "lines": [{"code": "G"}, {"code": "DE", "amount": "10.00", "base_line": 0}],
     "history": [{"date": "2025-01-02", "code": "G"}]},
]

CLAIM_OBJECTS = {  # JSON pointer of an object -> its known keys (schemas/claim.schema.json)
    "": {"$schema", "id", "date", "time", "territory", "doctor", "patient", "context", "lines", "history"},
    "/doctor": {"id", "specialty", "sector", "option", "role", "is_patient_mt", "pu_ph", "counters"},
    "/doctor/counters": {"snp_this_week", "patients_seen_today", "teleconsultation_share_percent"},
    "/patient": {"id", "birth_date", "age_years", "has_mt", "c2s", "hospitalised", "stay_id"},
    "/context": None,  # filled from the schema below (many facts)
    "/lines/0": {"code", "tarif_opposable", "quantity", "coefficient", "amount", "base_line", "base_amount", "modifies"},
    "/history/0": {"date", "code", "doctor_id", "patient_id", "stay_id", "context"},
}

MONEY = ["amount", "base_amount"]
DECIMALS = ["quantity", "coefficient"]


def _claim_fields():
    """(pointer, strategy of an invalid value) for every leaf of the claim schema."""
    from convmed.schemas import all_schemas, BASE_ID

    schema = all_schemas()[BASE_ID + "claim.schema.json"]
    context = schema["properties"]["context"]["properties"]
    CLAIM_OBJECTS["/context"] = set(context)
    fields = [
        ("/date", malformed_date()), ("/time", malformed_time()),
        ("/territory", not_in(["metropole", "guadeloupe", "martinique", "guyane", "reunion", "mayotte"])),
        ("/id", st.one_of(huge_string(), wrong_type_for("string"))),
        ("/doctor", wrong_type_for("object")), ("/patient", wrong_type_for("object")),
        ("/context", wrong_type_for("object")), ("/lines", st.one_of(wrong_type_for("array"), st.just([]))),
        ("/history", wrong_type_for("array")),
        ("/doctor/specialty", st.one_of(st.sampled_from(["Medecine_generale", "médecine générale", "", "mg-1"]),
                                        wrong_type_for("string"))),
        ("/doctor/sector", not_in(["S1", "S2", "DP"])),
        ("/doctor/option", not_in(["none", "OPTAM", "OPTAM_ACO", "OPTAM_CO", "CAS"])),
        ("/doctor/role", not_in(["titulaire", "remplacant", "collaborateur_salarie", "collaborateur_liberal",
                                 "adjoint", "assistant", "tenue_de_cabinet"])),
        ("/doctor/is_patient_mt", wrong_type_for("bool")), ("/doctor/pu_ph", wrong_type_for("bool")),
        ("/doctor/counters/snp_this_week", int_out_of_range(0, None)),
        ("/doctor/counters/teleconsultation_share_percent", int_out_of_range(0, 100)),
        ("/patient/birth_date", malformed_date()), ("/patient/age_years", int_out_of_range(0, 130)),
        ("/patient/has_mt", wrong_type_for("bool")), ("/patient/c2s", wrong_type_for("bool")),
        ("/patient/id", st.one_of(huge_string(), wrong_type_for("string"))),
        ("/lines/0/code", st.one_of(st.sampled_from(["g", "", "G ", " G", "G-1", "A" * 21, "É"]),
                                    wrong_type_for("string"))),
        ("/lines/0/tarif_opposable", wrong_type_for("bool")),
        ("/lines/0/base_line", int_out_of_range(0, None)), ("/lines/0/modifies", int_out_of_range(0, None)),
        ("/history/0/date", malformed_date()),
        ("/history/0/code", st.one_of(st.sampled_from(["g", "", "G G"]), wrong_type_for("string"))),
        ("/history/0/context", wrong_type_for("object")),
    ]
    fields += [(f"/lines/0/{k}", malformed_money(True)) for k in MONEY + DECIMALS]
    for name, prop in context.items():
        ptr = f"/context/{name}"
        if prop.get("type") == "boolean":
            fields.append((ptr, wrong_type_for("bool")))
        elif prop.get("type") == "integer":
            fields.append((ptr, int_out_of_range(prop.get("minimum"), prop.get("maximum"))))
        elif "enum" in prop:
            fields.append((ptr, not_in(prop["enum"])))
        elif prop.get("type") == "string" and "maxLength" in prop:
            fields.append((ptr, st.one_of(huge_string(prop["maxLength"] + 1), wrong_type_for("string"))))
    return fields


def _set(obj: dict, pointer: str, value) -> None:
    parts = pointer.strip("/").split("/")
    cur = obj
    for p in parts[:-1]:
        if isinstance(cur, list):
            p = int(p)
            while len(cur) <= p:
                cur.append({"code": "G"} if not cur or "code" in cur[0] else {"date": "2025-01-01", "code": "G"})
            cur = cur[p]
        else:
            if p not in cur or not isinstance(cur[p], (dict, list)):
                cur[p] = [] if p in ("lines", "history") else {}
                if p == "history":
                    cur[p].append({"date": "2025-01-01", "code": "G"})
                if p == "lines":
                    cur[p].append({"code": "G"})
            cur = cur[p]
    last = parts[-1]
    if isinstance(cur, list):
        cur[int(last)] = value
    else:
        cur[last] = value


def _del(obj: dict, pointer: str) -> None:
    parts = pointer.strip("/").split("/")
    cur = obj
    for p in parts[:-1]:
        cur = cur[int(p)] if isinstance(cur, list) else cur[p]
    del cur[parts[-1]]


@st.composite
def bad_claim(draw) -> tuple[str, bytes]:
    """(what was broken, the bytes of a claim file that is invalid by construction)."""
    import copy

    claim = copy.deepcopy(draw(st.sampled_from(CLAIM_BASES)))
    fields = _claim_fields()
    how = draw(st.sampled_from(["field", "field", "field", "unknown", "missing", "lines", "both_ages", "birth_after",
                                "text"]))
    if how == "field":
        pointer, strategy = draw(st.sampled_from(fields))
        _set(claim, pointer, draw(strategy))
        what = f"{pointer} invalid"
    elif how == "unknown":
        where = draw(st.sampled_from(sorted(CLAIM_OBJECTS)))
        known = CLAIM_OBJECTS[where] or set()
        key = draw(st.text(min_size=1, max_size=40).map(lambda k: k.replace("/", "_").replace("~", "_"))
                   .filter(lambda k: k not in known))
        if where:
            _set(claim, where + "/" + key, draw(st.one_of(
                st.integers(), st.text(max_size=10), st.none(), st.booleans())))
        else:
            claim[key] = draw(st.one_of(st.integers(), st.text(max_size=10), st.none(), deep_value()))
        what = f"unknown key {key!r} in {where or '/'}"
    elif how == "missing":
        pointer = draw(st.sampled_from(["/date", "/doctor", "/lines", "/doctor/specialty", "/doctor/sector",
                                        "/lines/0/code"]))
        _del(claim, pointer)
        what = f"missing {pointer}"
    elif how == "lines":
        claim["lines"] = [{"code": "G"}] * draw(st.integers(51, 2000))
        what = "too many lines"
    elif how == "both_ages":
        claim["patient"] = {"birth_date": "1980-01-01", "age_years": 45}
        what = "birth_date and age_years"
    elif how == "birth_after":
        claim["patient"] = {"birth_date": "2030-01-01"}
        what = "birth date after the encounter"
    else:
        return draw(bad_json_text(claim))
    return what, dumps(claim).encode("utf-8")


def deep_value():
    return st.integers(1000, 100_000).map(lambda d: Raw("[" * d + "]" * d))


@st.composite
def bad_json_text(draw, document) -> tuple[str, bytes]:
    """Text-level damage to a valid JSON object: truncation, duplicate key, bad bytes, NaN..."""
    text = dumps(document)
    how = draw(st.sampled_from(["truncate", "duplicate", "utf8", "nan", "garbage", "bom_nul", "deep", "trailing",
                                "single_quotes", "comment", "empty"]))
    if how == "truncate":
        cut = draw(st.integers(0, len(text) - 1))
        return f"truncated at {cut}", text[:cut].encode()
    if how == "duplicate":
        key = draw(st.sampled_from(sorted(document)))
        pairs = Pairs(document.items())
        pairs.insert(draw(st.integers(0, len(pairs))), (key, document[key]))
        return f"duplicate key {key}", dumps(pairs).encode()
    if how == "utf8":
        raw = text.encode()
        pos = draw(st.integers(0, len(raw)))
        bad = draw(st.sampled_from([b"\xff", b"\xc3", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80"]))
        return f"invalid UTF-8 at byte {pos}", raw[:pos] + bad + raw[pos:]
    if how == "nan":
        token = draw(st.sampled_from(["NaN", "Infinity", "-Infinity"]))
        key = draw(st.sampled_from(sorted(document)))
        doc = dict(document)
        doc[key] = Raw(token)
        return f"{token} for {key}", dumps(doc).encode()
    if how == "garbage":
        junk = draw(st.binary(min_size=1, max_size=200))
        return "garbage bytes", junk if draw(st.booleans()) else text.encode()[: len(text) // 2] + junk
    if how == "bom_nul":
        return "NUL byte", text.encode().replace(b",", b",\x00", 1)
    if how == "deep":
        d = draw(st.integers(1000, 200_000))
        return "deep nesting", ("[" * d + "]" * d).encode() if draw(st.booleans()) else \
            (text[:-1] + ', "x": ' + "{\"a\":" * d + "1" + "}" * d + "}").encode()
    if how == "trailing":
        return "two documents", (text + draw(st.sampled_from(["{}", "x", ",", "]", text]))).encode()
    if how == "single_quotes":
        return "single quotes", text.replace('"', "'").encode()
    if how == "comment":
        return "comment", ("// demande\n" + text).encode()
    return "empty", draw(st.sampled_from([b"", b" ", b"\n\n", b"null", b"0", b"[]", b'""', b"true"]))


def any_json():
    """Arbitrary JSON values (valid JSON, almost never a valid claim)."""
    return st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                  st.text(max_size=20)),
        lambda children: st.one_of(st.lists(children, max_size=5),
                                   st.dictionaries(st.text(max_size=10), children, max_size=5)),
        max_leaves=30,
    )
