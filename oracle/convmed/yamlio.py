"""Safe, located reading of YAML and JSON.

YAML is read with PyYAML's safe composer only; the node tree is turned into plain
Python data by this module so that:
- every value's line is known (a map from JSON pointer to line);
- duplicate mapping keys are refused;
- anchors and aliases are refused (no spec file needs them; this also rules out
  "billion laughs" expansion);
- dates stay strings (JSON Schema checks their format), floats stay floats (and are
  then refused wherever the schema wants a decimal string);
- size and nesting depth are bounded.
JSON is read with the standard library, duplicate keys refused, and lines for a
pointer found by a small scanner when an error must be located.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from convmed.errors import ConvmedError, Located, pointer_join

try:  # the C composer is much faster and just as safe
    _Loader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on the libyaml build
    _Loader = yaml.SafeLoader

MAX_BYTES = 5 * 1024 * 1024
MAX_JSON_DEPTH = 64   # a claim is 4 levels deep, a vector file 8: anything deeper is not an input of ours
MAX_DEPTH = 64

_TAG = "tag:yaml.org,2002:"
_PLAIN_TAGS = frozenset(_TAG + t for t in ("str", "int", "float", "bool", "null", "timestamp", "seq", "map"))


class LineMap(dict):
    """JSON pointer -> 1-based line number."""

    def line_for(self, pointer: str) -> int | None:
        while True:
            if pointer in self:
                return self[pointer]
            if not pointer:
                return None
            pointer = pointer.rsplit("/", 1)[0]


def _scalar(node: yaml.ScalarNode, loader) -> object:
    tag = node.tag
    if tag == _TAG + "timestamp":
        return node.value  # keep ISO dates as text
    if tag in (_TAG + "str", _TAG + "binary"):
        return node.value
    if tag == _TAG + "int":
        try:
            return loader.construct_yaml_int(node)
        except ValueError:  # more digits than Python converts (4300)
            raise ConvmedError.single(f"integer of {len(node.value)} characters refused (no value of the spec has "
                                      f"more than 12 digits)", line=node.start_mark.line + 1, code="yaml") from None
    if tag == _TAG + "float":
        return loader.construct_yaml_float(node)
    if tag == _TAG + "bool":
        return loader.construct_yaml_bool(node)
    if tag == _TAG + "null":
        return None
    return node.value


def _convert(node, loader, path, lines: LineMap, file: str, depth: int):
    if depth > MAX_DEPTH:
        raise ConvmedError.single(f"nesting deeper than {MAX_DEPTH} levels", file=file,
                                  line=node.start_mark.line + 1, pointer=pointer_join(path), code="too-deep")
    lines[pointer_join(path)] = node.start_mark.line + 1
    if (node.start_mark.line, node.start_mark.column) in loader.convmed_tagged:
        raise ConvmedError.single(f"explicit YAML tag {node.tag!r} is not allowed (plain data only: no !!python/..., "
                                  f"!!float, !custom)", file=file, line=node.start_mark.line + 1,
                                  pointer=pointer_join(path), code="tag")
    if node.tag not in _PLAIN_TAGS:
        raise ConvmedError.single(f"YAML tag {node.tag!r} is not allowed (plain data only)", file=file,
                                  line=node.start_mark.line + 1, pointer=pointer_join(path), code="tag")
    if isinstance(node, yaml.ScalarNode):
        return _scalar(node, loader)
    if isinstance(node, yaml.SequenceNode):
        return [_convert(child, loader, path + [i], lines, file, depth + 1) for i, child in enumerate(node.value)]
    if isinstance(node, yaml.MappingNode):
        out: dict = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise ConvmedError.single("mapping keys must be plain scalars", file=file,
                                          line=key_node.start_mark.line + 1, pointer=pointer_join(path), code="bad-key")
            if key_node.tag == _TAG + "merge":
                raise ConvmedError.single("YAML merge keys (<<) are not allowed", file=file,
                                          line=key_node.start_mark.line + 1, pointer=pointer_join(path), code="alias")
            key = str(_scalar(key_node, loader))
            if key in out:
                raise ConvmedError.single(
                    f"duplicate key {key!r} (first at line {lines.get(pointer_join(path + [key]))})",
                    file=file, line=key_node.start_mark.line + 1, pointer=pointer_join(path + [key]),
                    code="duplicate-key")
            out[key] = _convert(value_node, loader, path + [key], lines, file, depth + 1)
        return out
    raise ConvmedError.single(f"unsupported YAML node {node!r}", file=file, code="yaml")


class _NoAliasLoader(_Loader):
    pass


def load_yaml_text(text: str, file: str = "<input>", *, max_bytes: int = MAX_BYTES) -> tuple[object, LineMap]:
    if len(text.encode("utf-8", "surrogatepass")) > max_bytes:
        raise ConvmedError.single(f"file larger than {max_bytes} bytes", file=file, code="too-large")
    if re.search(r"(^|[\s\[{,])[&*][^\s,\[\]{}]+", text) and (alias_line := _has_anchor_or_alias(text, file)):
        raise ConvmedError.single("YAML anchors and aliases are not allowed", file=file, line=alias_line, code="alias")
    if text.count("[") + text.count("{") > MAX_FLOW_BRACKETS and (deep_line := _flow_too_deep(text)):
        raise ConvmedError.single(f"flow nesting ([ or {{) deeper than {MAX_FLOW_BRACKETS} levels", file=file,
                                  line=deep_line, code="too-deep")
    loader = _NoAliasLoader(text)
    # explicit tags: `!!float 26.5` composes like a plain scalar, so their places are taken from the scanner
    loader.convmed_tagged = _explicit_tags(text) if re.search(r"(^|[\s\[{,])!", text) else frozenset()
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise ConvmedError.single(f"invalid YAML: {exc.problem or exc}", file=file,
                                  line=mark.line + 1 if mark else None, code="yaml") from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow (NUL, other controls)
        line = text.count("\n", 0, exc.position) + 1 if isinstance(exc.position, int) else None
        raise ConvmedError.single(f"invalid YAML: {exc.reason} (character #x{exc.character:04x})"
                                  if isinstance(exc.character, int) else f"invalid YAML: {exc.reason}",
                                  file=file, line=line, code="yaml") from None
    except yaml.YAMLError as exc:
        raise ConvmedError.single(f"invalid YAML: {exc}", file=file, code="yaml") from None
    finally:
        loader.dispose()
    lines = LineMap()
    if node is None:
        return None, lines
    try:
        return _convert(node, loader, [], lines, file, 0), lines
    except ConvmedError as exc:
        raise ConvmedError([p if p.file else Located(p.message, file=file, line=p.line, pointer=p.pointer, code=p.code)
                            for p in exc.problems]) from None


# libyaml's parser recurses on flow collections and overflows the C stack (a crash, no message) somewhere
# between 10 000 and 30 000 nested `[`: refuse far below, before parsing. Block nesting needs indentation
# and is bounded by MAX_BYTES; both are then refused at MAX_DEPTH levels when the tree is converted.
MAX_FLOW_BRACKETS = 1000


def _flow_too_deep(text: str) -> int | None:
    """Line where `[`/`{` nesting first exceeds MAX_FLOW_BRACKETS (quotes ignored: an over-estimate)."""
    depth = 0
    for m in re.finditer(r"[\[\]{}]", text):
        if m.group() in "[{":
            depth += 1
            if depth > MAX_FLOW_BRACKETS:
                return text.count("\n", 0, m.start()) + 1
        elif depth:
            depth -= 1
    return None


def _has_anchor_or_alias(text: str, file: str) -> int | bool:
    """Precise check with the scanner (the regex above is only a cheap pre-filter): the line of the
    first anchor or alias, or False."""
    try:
        for token in yaml.scan(text, Loader=_Loader):
            if isinstance(token, (yaml.AnchorToken, yaml.AliasToken)):
                return token.start_mark.line + 1
    except yaml.YAMLError:
        return False  # the parser reports the syntax error with its line
    return False


def _explicit_tags(text: str) -> frozenset:
    """(line, column) of every explicit tag, where the node it tags starts."""
    try:
        return frozenset((t.start_mark.line, t.start_mark.column) for t in yaml.scan(text, Loader=_Loader)
                         if isinstance(t, yaml.TagToken))
    except yaml.YAMLError:
        return frozenset()  # the parser reports the syntax error with its line


def read_yaml_bytes(path: Path, *, max_bytes: int = MAX_BYTES) -> bytes:
    """A YAML file's bytes: a regular file of at most `max_bytes` bytes actually read (convmed.infiles)."""
    from convmed.infiles import read_bounded

    return read_bounded(path, max_bytes)


def load_yaml_bytes(data: bytes, file: str, *, max_bytes: int = MAX_BYTES) -> tuple[object, LineMap]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConvmedError.single(f"not UTF-8 text: {exc.reason} at byte {exc.start}", file=file, line=line,
                                  code="encoding") from None
    return load_yaml_text(text, file, max_bytes=max_bytes)


def load_yaml(path: Path, *, max_bytes: int = MAX_BYTES) -> tuple[object, LineMap]:
    return load_yaml_bytes(read_yaml_bytes(path, max_bytes=max_bytes), str(path), max_bytes=max_bytes)


# ---------------------------------------------------------------- JSON

_LINE_BREAKS_IN_STRINGS = str.maketrans({"\u0085": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def json_line(obj, **dumps) -> str:
    """One JSON Lines record, newline included, for every JSON Lines file and stream convmed writes.
    U+0085, U+2028 and U+2029 are valid raw inside a JSON string but end a line for many readers
    (Python's str.splitlines among them): they are written escaped, so one record is always one line."""
    return json.dumps(obj, ensure_ascii=False, **dumps).translate(_LINE_BREAKS_IN_STRINGS) + "\n"


def no_duplicate_keys(pairs):
    """`object_pairs_hook` for json: an object with a key twice raises DuplicateKey (every JSON reader of
    convmed refuses duplicates: claims, requests, patientèles, batch lines)."""
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set = set()
        raise DuplicateKey(next(k for k, _ in pairs if k in seen or seen.add(k)))
    return out


class DuplicateKey(ValueError):
    def __init__(self, key):
        super().__init__(key)
        self.key = key


def _refuse_constant(name):
    raise ValueError(f"{name} is not a valid JSON number")


def load_json_text(text: str, file: str = "<input>", *, max_bytes: int = MAX_BYTES,
                   max_depth: int = MAX_JSON_DEPTH) -> object:
    """Parse JSON strictly, the one JSON reader of convmed's inputs (claims, forfait requests, patientèles,
    vector files, serve-oracle requests): duplicate keys, NaN and Infinity refused, nesting deeper than
    `max_depth` refused, a lone surrogate (`"\\ud800"`, not a character) refused, each located; floats kept
    as Decimal-safe text."""
    if len(text) > max_bytes:
        raise ConvmedError.single(f"input larger than {max_bytes} bytes", file=file, code="too-large")
    if text.count("{") + text.count("[") > max_depth:   # cheap screen: only then is the depth measured
        line = _line_of_depth(text, max_depth)
        if line is not None:
            raise ConvmedError.single(f"JSON nested too deeply (more than {max_depth} levels from this line on)",
                                      file=file, line=line, code="too-deep")
    try:
        data = json.loads(text, object_pairs_hook=no_duplicate_keys, parse_constant=_refuse_constant,
                          parse_float=_FloatText)
        if _SURROGATE_ESCAPE.search(text):
            _refuse_lone_surrogates(data, text, file)
        return data
    except DuplicateKey as exc:
        line = _line_of_key(text, exc.key)
        raise ConvmedError.single(f"duplicate key {exc.key!r}", file=file, line=line, code="duplicate-key") from None
    except json.JSONDecodeError as exc:
        raise ConvmedError.single(f"invalid JSON: {exc.msg} (column {exc.colno})", file=file,
                                  line=exc.lineno, code="json") from None
    except RecursionError:
        line = _line_of_depth(text, _DEPTH_REPORTED)
        raise ConvmedError.single(f"JSON nested too deeply (more than {_DEPTH_REPORTED} levels from this line on)",
                                  file=file, line=line, code="too-deep") from None
    except ValueError as exc:
        line = _line_of_constant(text)  # NaN / Infinity, or an integer beyond Python's digit limit
        why = "integer of more than 4300 digits" if "digits" in str(exc) and "limit" in str(exc) else str(exc)
        raise ConvmedError.single(f"invalid JSON: {why}", file=file, line=line, code="json") from None


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _refuse_lone_surrogates(data, text: str, file: str) -> None:
    """A `\\udXXX` escape that is not half of a pair decodes to a lone surrogate, which no UTF-8 text can
    carry (it would break every output written later): refused at its pointer."""
    stack = [(data, "")]
    while stack:
        value, pointer = stack.pop()
        if isinstance(value, str):
            items = ()
            bad = _has_lone_surrogate(value)
        elif isinstance(value, dict):
            bad = next((k for k in value if _has_lone_surrogate(k)), None) is not None
            items = [(v, f"{pointer}/{_escape_token(k)}") for k, v in value.items()]
        elif isinstance(value, list):
            bad, items = False, [(v, f"{pointer}/{i}") for i, v in enumerate(value)]
        else:
            continue
        if bad:
            lines = json_line_map(text)
            raise ConvmedError.single("lone surrogate escape (\\ud800-\\udfff without its pair): not a character",
                                      file=file, line=lines.line_for(pointer), pointer=pointer or "/",
                                      code="encoding")
        stack.extend(items)


def _has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
        return False
    except UnicodeEncodeError:
        return True


def _escape_token(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def load_json_line(text: str, file: str, lineno: int, *, max_bytes: int = MAX_BYTES) -> object:
    """`load_json_text` for one line of a JSON Lines file: its errors located on that line of the file."""
    try:
        return load_json_text(text.rstrip("\r\n"), file, max_bytes=max_bytes)
    except ConvmedError as exc:
        import dataclasses

        raise ConvmedError([dataclasses.replace(p, line=lineno + (p.line - 1 if p.line else 0))
                            for p in exc.problems]) from None


# A JSON string (possessive: linear even on an unterminated string), or a structural character / constant.
_STRING_OR = r'"(?:[^"\\]++|\\.)*+"?|'
_DEPTH_REPORTED = 500


def _line_of_constant(text: str) -> int | None:
    """Line of the first NaN / Infinity token (or 4300+ digit number) outside strings (error path only)."""
    for m in re.finditer(_STRING_OR + r"(-?Infinity|NaN|[0-9]{4300,})", text):
        if m.group(1):
            return text.count("\n", 0, m.start()) + 1
    return None


def _line_of_depth(text: str, limit: int) -> int | None:
    """Line where the nesting depth first exceeds `limit`, outside strings (error path only)."""
    depth = 0
    for m in re.finditer(_STRING_OR + r"([\[{])|[\]}]", text):
        if m.group(1):
            depth += 1
            if depth > limit:
                return text.count("\n", 0, m.start()) + 1
        elif m.group(0) in "]}":
            depth -= 1
    return None


class _FloatText(float):
    """A JSON number with a fraction or exponent: a float for jsonschema, with its text kept.

    Money in convmed inputs is a string; a JSON float where money is expected is refused by
    the schemas (type string). Keeping the text lets messages quote what was written.
    """

    def __new__(cls, text):
        obj = super().__new__(cls, text)
        obj.text = text
        return obj


def _line_of_key(text: str, key: str) -> int | None:
    needle = json.dumps(key)
    idx = text.rfind(needle)
    return text.count("\n", 0, idx) + 1 if idx >= 0 else None


def json_line_map(text: str) -> LineMap:
    """Map every JSON pointer of a (valid) JSON text to its line, with a tiny scanner."""
    lines = LineMap()
    pos = 0
    n = len(text)
    ws = " \t\r\n"

    def skip(p):
        while p < n and text[p] in ws:
            p += 1
        return p

    import bisect

    breaks = [m.start() for m in re.finditer("\n", text)]   # line of an offset by bisection: linear overall

    def line_at(p):
        return bisect.bisect_left(breaks, p) + 1

    def string_end(p):  # p at opening quote
        p += 1
        while p < n:
            c = text[p]
            if c == "\\":
                p += 2
                continue
            if c == '"':
                return p + 1
            p += 1
        return p

    def value(p, path, depth):
        p = skip(p)
        lines[pointer_join(path)] = line_at(p)
        if depth > 200 or p >= n:
            return n
        c = text[p]
        if c == "{":
            p = skip(p + 1)
            if p < n and text[p] == "}":
                return p + 1
            while p < n:
                p = skip(p)
                end = string_end(p)
                key = json.loads(text[p:end])
                p = skip(end)
                p = value(p + 1, path + [key], depth + 1)
                p = skip(p)
                if p < n and text[p] == ",":
                    p += 1
                    continue
                return p + 1
            return n
        if c == "[":
            p = skip(p + 1)
            if p < n and text[p] == "]":
                return p + 1
            i = 0
            while p < n:
                p = value(p, path + [i], depth + 1)
                i += 1
                p = skip(p)
                if p < n and text[p] == ",":
                    p += 1
                    continue
                return p + 1
            return n
        if c == '"':
            return string_end(p)
        while p < n and text[p] not in ",]} \t\r\n":
            p += 1
        return p

    try:
        value(pos, [], 0)
    except (ValueError, IndexError):
        pass
    return lines
