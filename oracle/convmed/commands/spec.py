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


def run_check(args) -> int:
    import json
    import sys
    from pathlib import Path

    from convmed.check import check_spec
    from convmed.paths import seeds_dir, spec_dir

    root = Path(args.spec) if args.spec else spec_dir()
    seeds = Path(args.seeds) if args.seeds else seeds_dir()
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
        print(f"{report.files} files, {report.concepts} concepts; {quotes}; "
              f"{len(report.problems)} error(s), {len(report.warnings)} warning(s)")
    return 0 if report.ok else 1
