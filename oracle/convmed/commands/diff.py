"""`convmed diff --from D1 --to D2`: what changes in the spec between two dates."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("diff", help="ce qui change dans le spec entre deux dates (valeurs, lacunes, exigences)")
    p.add_argument("--from", dest="date_from", required=True, metavar="D1", help="date de départ (AAAA-MM-JJ)")
    p.add_argument("--to", dest="date_to", required=True, metavar="D2", help="date d'arrivée (AAAA-MM-JJ)")
    p.add_argument("--format", choices=["text", "json", "markdown"], default="text")
    p.add_argument("--spec", help="dossier du spec (défaut : celui de convmed)")
    p.set_defaults(handler=run)


def _date(text: str, option: str):
    import re
    from datetime import date

    from convmed.errors import ConvmedError

    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):  # fromisoformat also takes 20250110, 2025-W02-5
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise ConvmedError.single(f"{option} : date invalide {text!r} (attendu AAAA-MM-JJ)",
                                  pointer="/" + option.lstrip("-"), code="usage") from None


def run(args) -> int:
    import json
    from pathlib import Path

    from convmed.diff import diff, render_markdown, render_text
    from convmed.model import load_spec

    d1, d2 = _date(args.date_from, "--from"), _date(args.date_to, "--to")
    spec = load_spec(Path(args.spec) if args.spec else None)
    result = diff(spec, d1, d2)
    if args.format == "json":
        print(json.dumps(result, ensure_ascii=False, indent=2))
    elif args.format == "markdown":
        print(render_markdown(result))
    else:
        print(render_text(result))
    return 0
