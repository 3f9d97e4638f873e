"""`convmed lookup CODE --date D [--territory T]`: the unit value of a code on a date, with its source, or the gap."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("lookup", help="valeur unitaire d'un code à une date (avec sa source), ou la lacune")
    p.add_argument("code")
    p.add_argument("--date", required=True, help="date AAAA-MM-JJ")
    p.add_argument("--territory", default="metropole",
                   choices=["metropole", "guadeloupe", "martinique", "guyane", "reunion", "mayotte"])
    p.add_argument("--specialty", help="spécialité (pour les valeurs propres à une spécialité)")
    p.add_argument("--overlay", action="append", default=[], metavar="NAME|PATH",
                   help="surcouche hors sources, consultée seulement si demandée")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(handler=run)


def lookup(code: str, on, territory: str = "metropole", specialty: str | None = None, overlays=()) -> dict:
    from convmed.model import load_spec
    from convmed.money import fmt

    spec = load_spec()
    out = {"code": code, "date": on.isoformat(), "territory": territory}
    concept = spec.acts_by_code.get(code)
    overlay_hit = None
    for o in overlays:
        row = o.find(code, on, territory)
        if row is not None:
            overlay_hit = (o, row)
            break

    def from_overlay(status_if_none):
        if overlay_hit is None:
            return False
        o, row = overlay_hit
        out.update(status="overlay", value=row.raw["value"], overlay=o.name, source=row.raw["source"],
                   note=f"valeur hors sources ({status_if_none})")
        return True

    if concept is None:
        if not from_overlay("code absent du spec"):
            out.update(status="unknown_code", message=f"{code} n'est pas encodé dans le spec (voir convmed spec coverage).")
        return out
    out.update(concept=concept.id, label=concept.data["label"], unit=concept.data["unit"],
               pricing=concept.data.get("pricing", "fixed"))
    res = concept.timeline.resolve(on, territory, specialty)
    e = res.entry
    if e is None:
        track = concept.timeline.track(territory, specialty)
        out.update(status="not_in_force" if track else "gap",
                   message=(f"pas en vigueur (première valeur : {track[0].start_text()})" if track
                            else f"aucune valeur pour le territoire {territory}"))
        return out
    out["from"] = e.start_text()
    if res.until:
        out["until"] = res.until.isoformat()
    for k in ("date_note", "note"):
        if k in e.raw:
            out[k] = e.raw[k]
    if res.uncertain:
        prev = res.previous
        out.update(status="date_uncertain", candidates=[
            {"from": prev.start_text(), **({"value": fmt(prev.value)} if prev.value is not None else {"gap": prev.is_gap})}
            if prev else {"status": "pas en vigueur"},
            {"from": e.start_text(), **({"value": fmt(e.value)} if e.value is not None else {"gap": e.is_gap})}],
            message=e.raw["from"].get("note", ""))
        return out
    if e.is_abolished:
        out.update(status="abolished", sources=e.raw.get("sources", []))
        return out
    if e.is_gap:
        out.update(gap=e.raw["gap"])
        if not from_overlay("lacune des sources"):
            out["status"] = "gap"
        return out
    out.update(status="value", value=fmt(e.value), value_status=e.raw["status"], sources=e.raw["sources"])
    for k in ("derivation", "conflict"):
        if k in e.raw:
            out[k] = e.raw[k]
    return out


def run(args) -> int:
    import json
    import re
    from datetime import date

    from convmed.errors import ConvmedError
    from convmed.overlay import load_overlay

    if not re.fullmatch(r"[A-Z0-9][A-Z0-9_]{0,19}", args.code):   # the claim schema's code pattern
        from convmed.errors import _printable

        raise ConvmedError.single(f"code « {_printable(args.code[:40])} » mal formé : majuscules, chiffres et _ "
                                  f"(20 caractères au plus), comme dans une demande", pointer="CODE", code="usage")
    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", args.date):  # fromisoformat also takes 20250110
            raise ValueError(args.date)
        on = date.fromisoformat(args.date)
    except ValueError:
        raise ConvmedError.single(f"date invalide : {args.date!r} (attendu AAAA-MM-JJ)", pointer="/date", code="input")
    overlays = [load_overlay(o) for o in args.overlay]
    out = lookup(args.code, on, args.territory, args.specialty, overlays)
    if args.format == "json":
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return 0
    unit = {"EUR": "€", "EUR_per_km": "€/km", "percent": "%"}.get(out.get("unit"), out.get("unit", ""))
    head = f"{out['code']} le {out['date']} ({out['territory']})"
    st = out["status"]
    if st == "value":
        print(f"{head} : {out['value']} {unit} — {out['label']}")
        print(f"  depuis le {out['from']}" + (f" jusqu'au {out['until']} (exclu)" if "until" in out else "")
              + f", statut {out['value_status']}")
        if "date_note" in out:
            print(f"  date : {out['date_note']}")
        if "derivation" in out:
            print(f"  dérivation : {out['derivation']['formula']}")
        if "conflict" in out:
            print(f"  conflit {out['conflict']['id']} : {out['conflict']['resolution']}")
        for s in out["sources"]:
            print(f"  source : {s['seed']} › {' › '.join(s['path'])} : « {s['quote']} »")
    elif st == "gap":
        g = out.get("gap", {})
        print(f"{head} : lacune — {g.get('note', out.get('message', ''))}")
        if g.get("points_to"):
            print(f"  voir : {g['points_to']}")
        for r in g.get("reported_elsewhere", []):
            print(f"  rapporté ailleurs (information seulement) : {r['text']} — {r['source']['reference']} "
                  f"({r['source']['date']}, {r['source']['reliability']})")
    elif st == "overlay":
        print(f"{head} : {out['value']} {unit} — surcouche « {out['overlay']} », {out['note']}")
        print(f"  source externe : {out['source']['reference']} ({out['source']['date']}, {out['source']['reliability']})")
    elif st == "date_uncertain":
        print(f"{head} : date d'effet incertaine ({out['from']}) — {out['message']}")
        for c in out["candidates"]:
            print(f"  possible : {c}")
    else:
        print(f"{head} : {st} — {out.get('message', '')}")
    return 0
