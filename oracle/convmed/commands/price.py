"""`convmed price CLAIM.json`: price one encounter, with the explanation trace."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("price", help="tarifer une demande (une rencontre) et expliquer le résultat")
    p.add_argument("claim", help="fichier JSON de la demande (- pour l'entrée standard)")
    p.add_argument("--format", choices=["json", "text"], default="json")
    p.add_argument("--overlay", action="append", default=[], metavar="NAME|PATH",
                   help="surcouche de valeurs hors sources (spec/overlays/NAME ou fichier YAML), utilisée seulement "
                        "si demandée ; répétable")
    p.set_defaults(handler=run)


def run(args) -> int:
    import json

    from convmed.io_claims import read_claim
    from convmed.pricing import price_claim
    from convmed.render import result_text

    claim = read_claim(args.claim)
    result = price_claim(claim, overlays=getattr(args, "overlay", None) or None)
    if args.format == "json":
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print(result_text(result))
    return 0
