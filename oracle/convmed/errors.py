"""Located errors: every problem convmed reports names a file, a line and a JSON pointer."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Located:
    """One problem, located as precisely as the input allows."""

    message: str
    file: str | None = None
    line: int | None = None
    pointer: str | None = None
    code: str = "error"

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
    """Non-printable characters as escapes; with `spaces`, whitespace too (a pointer is one word of the line)."""
    if text.isprintable() and not (spaces and any(ch.isspace() for ch in text)):
        return text
    return "".join(ch if ch.isprintable() and not (spaces and ch.isspace())
                   else f"\\x{ord(ch):02x}" if ord(ch) < 256 else ch.encode("unicode_escape").decode("ascii")
                   for ch in text)


def pointer_join(parts) -> str:
    """RFC 6901 JSON pointer from path parts."""
    out = []
    for p in parts:
        out.append(str(p).replace("~", "~0").replace("/", "~1"))
    return "/" + "/".join(out) if out else ""
