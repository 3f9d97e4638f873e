"""`convmed spec check` (and later: coverage, conflicts)."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("spec", help="vérifier et interroger le spec")
    spec_sub = p.add_subparsers(dest="spec_command", metavar="SUBCOMMAND")
    spec_sub.required = True
    c = spec_sub.add_parser("check", help="valider chaque fichier du spec et son intégrité")
    c.add_argument("--spec", help="dossier du spec (défaut : celui de convmed)")
    c.add_argument("--seeds", help="dossier des sources (défaut : $CONVMED_SOURCES, sinon ../shared/seeds)")
    c.add_argument("--format", choices=["text", "json"], default="text")
    c.set_defaults(handler=run_check)
    cov = spec_sub.add_parser("coverage", help="chaque code de l'index : encodé, encodé sous un autre nom, ou lacune motivée")
    cov.add_argument("--format", choices=["text", "json"], default="text")
    cov.set_defaults(handler=run_coverage)
    con = spec_sub.add_parser("conflicts", help="chaque conflit du spec : les deux valeurs et la résolution")
    con.add_argument("--format", choices=["text", "json"], default="text")
    con.set_defaults(handler=run_conflicts)


def run_check(args) -> int:
    import json
    import sys
    from pathlib import Path

    from convmed.check import check_spec
    from convmed.paths import seeds_dir, spec_dir

    root = Path(args.spec) if args.spec else spec_dir()
    seeds = Path(args.seeds) if args.seeds else seeds_dir()
    if not root.is_dir():  # bad input (exit 2), not a spec that fails its check
        from convmed.errors import ConvmedError

        raise ConvmedError.single("spec directory not found", file=str(root), code="io")
    if seeds is not None and not seeds.is_dir():
        from convmed.errors import ConvmedError

        raise ConvmedError.single(f"seeds directory not found: {seeds}", file=str(seeds), code="io")
    report = check_spec(root, seeds)
    if args.format == "json":
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        for p in report.problems:
            print(p.render(), file=sys.stderr)
        for w in report.warnings:
            print("warning: " + w.render(), file=sys.stderr)
        quotes = (f"{report.quotes_checked} quotes checked against {report.seeds_dir}"
                  if report.seeds_dir else
                  f"quote check SKIPPED ({report.quotes_skipped} quotes not checked: no seeds directory; "
                  f"set CONVMED_SOURCES)")
        print(f"spec {report.spec_dir} (digest {report.spec_digest})")
        print(f"{report.files} files, {report.concepts} concepts; {quotes}; "
              f"{len(report.problems)} error(s), {len(report.warnings)} warning(s)")
    return 0 if report.ok else 1


def run_coverage(args) -> int:
    import json

    from convmed.coverage import coverage
    from convmed.model import load_spec

    report = coverage(load_spec())
    if args.format == "json":
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        for r in report["rows"]:
            what = r.get("concept") or r.get("reason", "")
            print(f"{r['status']:<11} {r['name']:<40} §{r['section']:<6} {what}")
        if report["encoded_not_in_index"]:
            print("encodés hors index : " + ", ".join(report["encoded_not_in_index"]))
        print(", ".join(f"{k} : {v}" for k, v in sorted(report["counts"].items())))
    return 1 if report["missing"] else 0


def run_conflicts(args) -> int:
    import json

    from convmed.coverage import conflicts
    from convmed.model import load_spec

    items = conflicts(load_spec())
    if args.format == "json":
        print(json.dumps(items, ensure_ascii=False, indent=2))
        return 0
    for c in items:
        kept = c["retained"].get("value") or c["retained"].get("description") or c["retained"].get("from", "")
        print(f"{c['id']} — {c['topic']} ({c['concept']}{c['pointer']})")
        print(f"  retenu : {kept}" + "".join(f" [{s['seed'][:3]}]" for s in c["retained_sources"]))
        for a in c["alternatives"]:
            alt = a.get("value") or a.get("from") or a.get("text", "")
            print(f"  écarté : {alt}" + (f" — {a['text']}" if a.get("text") and alt != a.get("text") else "")
                  + "".join(f" [{s['seed'][:3]}]" for s in a["sources"]))
        print(f"  résolution : {c['resolution']}")
    print(f"{len(items)} conflit(s)")
    return 0
