"""`convmed forfait SCHEME INPUT --year Y | --date D [--patients FILE] [--format json|text]`."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("forfait", help="calculer un forfait, une aide ou une prime annuelle et expliquer le résultat")
    p.add_argument("scheme", help="dispositif (fmt, fpmt, rosp, structure, ... : `convmed forfait list -`)")
    p.add_argument("input", help="fichier JSON de la demande (schemas/forfait-input.schema.json ; - pour l'entrée standard)")
    when = p.add_mutually_exclusive_group()
    when.add_argument("--year", type=int, help="année n du forfait : règles en vigueur au 31/12/n")
    when.add_argument("--date", help="règles en vigueur à cette date (AAAA-MM-JJ) ; année n = année de la date")
    p.add_argument("--patients", help="patientèle en JSON Lines (.jsonl) ou CSV (.csv), lue en flux")
    p.add_argument("--format", choices=["json", "text"], default="json")
    p.set_defaults(handler=run)


def run(args) -> int:
    import json
    from datetime import date
    from pathlib import Path

    from convmed.errors import ConvmedError
    from convmed.forfaits.engine import compute, validate_input
    from convmed.forfaits.render import result_text
    from convmed.io_claims import read_text
    from convmed.yamlio import load_json_text

    if args.scheme == "list":
        from convmed.forfaits.engine import scheme_names
        from convmed.model import load_spec

        print("\n".join(scheme_names(load_spec())))
        return 0
    text, file = read_text(args.input)
    request = load_json_text(text, file)
    if not isinstance(request, dict):
        raise ConvmedError.single("a forfait request must be a JSON object", file=file, line=1, pointer="", code="input")
    if request.get("scheme", args.scheme) != args.scheme:
        raise ConvmedError.single(f"the request is for scheme {request.get('scheme')!r}, not {args.scheme!r}",
                                  file=file, pointer="/scheme", code="input")
    request["scheme"] = args.scheme
    if args.year is not None or args.date is not None:
        request.pop("year", None)
        request.pop("date", None)
        if args.year is not None:
            request["year"] = args.year
        else:
            try:
                date.fromisoformat(args.date)
            except ValueError:
                raise ConvmedError.single(f"--date must be AAAA-MM-JJ, got {args.date!r}", code="input") from None
            request["date"] = args.date
    validate_input(request, file, text)
    base_dir = Path(file).resolve().parent if file != "<stdin>" else Path.cwd()
    result = compute(request, file=file, base_dir=base_dir, patients_path=args.patients, validated=True)
    if args.format == "json":
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print(result_text(result))
    return 0
