"""Located errors: every problem convmed reports names a file, a line and a JSON pointer."""

from __future__ import annotations

from dataclasses import dataclass, field


MAX_MESSAGE_CHARS = 500   # a message quotes the value it refuses: a 100 MB value is cut, its size said
MAX_WHERE_CHARS = 300     # a file name or a pointer, likewise


def shorten(text, limit: int = MAX_MESSAGE_CHARS) -> str:
    """`text` cut at `limit` characters, saying how long it was (never a 100 MB message)."""
    text = str(text)
    return text if len(text) <= limit else f"{text[:limit]}… [{len(text)} caractères en tout]"


@dataclass(frozen=True)
class Located:
    """One problem, located as precisely as the input allows. Its message, file name and pointer are kept at
    most MAX_MESSAGE_CHARS / MAX_WHERE_CHARS characters long."""

    message: str
    file: str | None = None
    line: int | None = None
    pointer: str | None = None
    code: str = "error"

    def __post_init__(self):
        if len(self.message) > MAX_MESSAGE_CHARS:
            object.__setattr__(self, "message", shorten(self.message))
        for name in ("file", "pointer"):
            value = getattr(self, name)
            if value is not None and len(value) > MAX_WHERE_CHARS:
                object.__setattr__(self, name, shorten(value, MAX_WHERE_CHARS))

    def render(self) -> str:
        """One line: `file:line /pointer: [code] message`. Characters that are not printable (a control
        character in a hostile key, a line or record separator) are written as escapes, so that one
        problem is always exactly one line of the report."""
        where = _printable(self.file or "<input>")
        if self.line is not None:
            where += f":{self.line}"
        if self.pointer is not None:
            where += f" {_printable(self.pointer, spaces=True) or '/'}"
        return f"{where}: [{self.code}] {_printable(self.message)}"

    def as_dict(self) -> dict:
        return {k: v for k, v in {
            "file": self.file, "line": self.line, "pointer": self.pointer,
            "code": self.code, "message": self.message,
        }.items() if v is not None}


@dataclass
class ConvmedError(Exception):
    """Bad input: the CLI prints each problem and exits with status 2."""

    problems: list[Located] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(p.render() for p in self.problems)

    @classmethod
    def single(cls, message: str, **where) -> "ConvmedError":
        return cls([Located(message, **where)])


def _printable(text: str, spaces: bool = False) -> str:
    """Non-printable characters as escapes (\\x1e, \\u2028); with `spaces`, the space too (a pointer is one
    word of the line). The only printable whitespace is the space itself."""
    if text.isprintable() and not (spaces and " " in text):
        return text
    return "".join(ch if ch.isprintable() and not (spaces and ch == " ") else _escape(ch) for ch in text)


def _escape(ch: str) -> str:
    o = ord(ch)
    return f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}" if o < 0x10000 else f"\\U{o:08x}"


def pointer_join(parts) -> str:
    """RFC 6901 JSON pointer from path parts."""
    out = []
    for p in parts:
        out.append(str(p).replace("~", "~0").replace("/", "~1"))
    return "/" + "/".join(out) if out else ""
