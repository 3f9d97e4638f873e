"""`convmed conformance run | lint | fuzz | serve-oracle`: the vendor conformance kit."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("conformance", help="suite de conformité : exécuter, vérifier, fuzzer")
    s = p.add_subparsers(dest="conformance_command", metavar="SUBCOMMAND")
    s.required = True

    r = s.add_parser("run", help="passer les vecteurs à une implémentation (adaptateur, URL ou fonction Python)")
    target = r.add_mutually_exclusive_group(required=True)
    target.add_argument("--adapter", metavar="COMMANDE", help="commande qui lance l'adaptateur (lignes JSON sur stdin/stdout)")
    target.add_argument("--url", help="URL à laquelle chaque message est envoyé en POST (mode HTTP)")
    target.add_argument("--python", metavar="MODULE:FONCTION", help="fonction Python appelée dans le processus")
    _suite_args(r)
    r.add_argument("--timeout", type=float, default=10.0, help="délai par cas en secondes (défaut 10)")
    r.add_argument("--start-timeout", type=float, default=60.0, help="délai du démarrage de l'adaptateur (défaut 60)")
    r.add_argument("--workers", "-j", type=int, default=1, help="nombre d'adaptateurs en parallèle (défaut 1)")
    r.add_argument("--max-dead", type=int, default=5, metavar="N",
                   help="cas consécutifs sans réponse (délai, arrêt) avant d'abandonner l'adaptateur (défaut 5)")
    r.add_argument("--report-dir", default="conformance-report",
                   help="dossier des rapports : junit.xml, results.jsonl, summary.md, badge.json")
    r.add_argument("--junit", help="chemin du rapport JUnit XML (défaut REPORT_DIR/junit.xml)")
    r.add_argument("--jsonl", help="chemin du rapport JSON Lines (défaut REPORT_DIR/results.jsonl)")
    r.add_argument("--markdown", help="chemin du résumé Markdown (défaut REPORT_DIR/summary.md)")
    r.add_argument("--badge", help="chemin du badge JSON (défaut REPORT_DIR/badge.json)")
    bar = r.add_mutually_exclusive_group()
    bar.add_argument("--progress", dest="progress", action="store_true", default=None, help="barre de progression")
    bar.add_argument("--no-progress", dest="progress", action="store_false")
    r.add_argument("--quiet", "-q", action="store_true", help="n'afficher que le résumé final")
    r.set_defaults(handler=run_run)

    li = s.add_parser("lint", help="auto-vérification de la suite (schémas, ids, oracle, couverture, dates)")
    li.add_argument("--suite", help="dossier d'une version de la suite (défaut : la plus récente)")
    li.add_argument("--require-coverage", action="store_true",
                    help="échouer aussi quand une règle n'a pas de vecteur accepté et refusé")
    li.add_argument("--mutants", action="store_true",
                    help="passer aussi les vecteurs requis aux mutants sémantiques de l'oracle (lectures fautives de "
                         "spec/SEMANTIQUE.md) : échouer si l'un d'eux n'est tué par aucun vecteur requis")
    li.add_argument("--format", choices=["text", "json"], default="text")
    li.set_defaults(handler=run_lint)

    f = s.add_parser("fuzz", help="fuzzing différentiel : l'implémentation contre l'oracle (Hypothesis)")
    target = f.add_mutually_exclusive_group(required=True)
    target.add_argument("--adapter", metavar="COMMANDE")
    target.add_argument("--url")
    target.add_argument("--python", metavar="MODULE:FONCTION")
    f.add_argument("--examples", type=int, default=1000, help="nombre d'exemples (défaut 1000)")
    f.add_argument("--seed", type=int, default=0, help="graine (rejouable)")
    f.add_argument("--codes", help="codes à tirer, séparés par des virgules (défaut : tous les codes du spec) ; leurs "
                                   "actes de base et les codes de leurs non-cumuls sont tirés avec eux")
    f.add_argument("--family", action="append", default=[],
                   help="tirer les codes des vecteurs de cette famille (répétable), avec leurs codes liés")
    f.add_argument("--max-faults", type=int, default=5, help="nombre maximal de désaccords distincts à chercher")
    f.add_argument("--timeout", type=float, default=10.0)
    f.add_argument("--out", default="fuzz-vectors.json", help="fichier de vecteurs minimaux écrit (défaut fuzz-vectors.json)")
    f.add_argument("--suite", help="version de la suite annoncée à l'adaptateur (défaut : la plus récente)")
    f.set_defaults(handler=run_fuzz)

    o = s.add_parser("serve-oracle", help="l'oracle en processus durable : une demande JSON par ligne, une réponse par ligne")
    o.set_defaults(handler=run_serve_oracle)


def _suite_args(r) -> None:
    r.add_argument("--suite", help="dossier d'une version de la suite (défaut : la plus récente)")
    r.add_argument("--family", action="append", default=[], help="famille de règles (répétable)")
    r.add_argument("--level", choices=["required", "optional"])
    r.add_argument("--from", dest="date_from", metavar="DATE", help="cas datés de DATE ou après")
    r.add_argument("--to", dest="date_to", metavar="DATE", help="cas datés de DATE ou avant")
    r.add_argument("--id", dest="ids", action="append", default=[], help="identifiant de cas (motif glob, répétable)")
    r.add_argument("--rule", dest="rules", action="append", default=[], help="identifiant de règle du spec (préfixe, répétable)")


def run_run(args) -> int:
    import sys
    from pathlib import Path

    from convmed.conformance.protocol import make_adapter
    from convmed.conformance.reports import Reports
    from convmed.conformance.runner import exit_status, run_cases
    from convmed.conformance.vectors import Filters, load_suite
    from convmed.errors import ConvmedError, _printable

    if args.workers < 1 or args.max_dead < 1 or not (0 < args.timeout <= 3600) or not (0 < args.start_timeout <= 3600):
        raise ConvmedError.single("--workers ≥ 1, --max-dead ≥ 1, 0 < --timeout ≤ 3600 et 0 < --start-timeout ≤ 3600",
                                  pointer="--workers", code="usage")
    suite, _ = load_suite(Path(args.suite) if args.suite else None)
    filters = Filters(args.family, args.level, args.date_from, args.date_to, args.ids, args.rules)
    cases = filters.select(suite)
    if not cases:
        raise ConvmedError.single("aucun cas ne correspond aux filtres", pointer="--family", code="filter")
    if args.python:
        make_adapter(python=args.python)  # located error now, before any report is opened
    out = Path(args.report_dir)
    reports = Reports({"junit": args.junit or out / "junit.xml", "jsonl": args.jsonl or out / "results.jsonl",
                       "markdown": args.markdown or out / "summary.md", "badge": args.badge or out / "badge.json"},
                      suite.meta())
    selection = {k: v for k, v in vars(filters).items() if v}

    def factory():
        return make_adapter(command=args.adapter, url=args.url, python=args.python, start_timeout=args.start_timeout)

    summary = run_cases(suite, cases, factory, reports, workers=args.workers, timeout=args.timeout,
                        progress=False if args.quiet else args.progress, selection=selection,
                        max_dead=args.max_dead)
    c, req = summary["counts"], summary["required"]
    impl = reports.implementation
    if not args.quiet:
        for o in sorted(reports.outcomes, key=lambda o: (o.family, o.id)):
            if o.status in ("failed", "errored") or (o.status == "skipped" and o.level == "required"):
                print(f"{o.status.upper():8} {o.id} [{o.level}] — {_printable(o.message or '')}", file=sys.stderr)
                for s in o.seeds[:2]:
                    print(f"         source : {s['seed']} : « {s['quote'][:100]} »", file=sys.stderr)
    name, version = (_printable(str(impl.get(k, d)))[:200] for k, d in (("name", "?"), ("version", "")))
    print(f"{name} {version} — suite {suite.suite_version} : {c['total']} cas, "
          f"{c['passed']} réussis, {c['failed']} échecs, {c['errored']} erreurs, {c['skipped']} ignorés ; "
          f"requis : {req['passed']}/{req['total']} ({summary['percent_passing']} %). Rapports : {out}/")
    return exit_status(summary)


def run_lint(args) -> int:
    import json
    import sys
    from pathlib import Path

    from convmed.conformance.lint import lint_suite

    report = lint_suite(Path(args.suite) if args.suite else None)
    mutants = None
    if args.mutants:
        from convmed.conformance.mutants import mutation_report
        from convmed.model import load_spec

        mutants = mutation_report(report.suite, load_spec())
    if args.format == "json":
        data = report.as_dict()
        if mutants is not None:
            data["mutants"] = mutants
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        for p in report.problems:
            print(p.render(), file=sys.stderr)
        for w in report.warnings:
            print("attention : " + w.render(), file=sys.stderr)
        for line in report.coverage_lines():
            print(line)
        if mutants is not None:
            print(f"Mutants sémantiques : {sum(m['killed'] for m in mutants)}/{len(mutants)} tués par un vecteur requis")
            for m in mutants:
                if m["killed"]:
                    first = m["killed_by"][0]
                    print(f"  tué      {m['mutant']} — {m['description']} : {len(m['killed_by'])} vecteur(s), "
                          f"dont {first['id']} ({first['difference']})")
                else:
                    print(f"  SURVIT   {m['mutant']} — {m['description']} : aucun vecteur requis ne le distingue de l'oracle")
        print(report.summary())
    if report.problems:
        return 1
    if mutants is not None and not all(m["killed"] for m in mutants):
        return 1
    if args.require_coverage and report.uncovered:
        return 1
    return 0


def run_fuzz(args) -> int:
    from pathlib import Path

    from convmed.conformance.fuzz import fuzz_command

    return fuzz_command(args, Path(args.suite) if args.suite else None)


def run_serve_oracle(args) -> int:
    from convmed.conformance.serve import serve_oracle

    return serve_oracle()
