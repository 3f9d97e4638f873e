"""`convmed docs build`: generate the documentation pages from the spec, then the site (mkdocs-material)."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("docs", help="site de documentation généré depuis le spec")
    docs_sub = p.add_subparsers(dest="docs_command", metavar="SUBCOMMAND")
    docs_sub.required = True
    b = docs_sub.add_parser("build", help="générer les pages (docs/generated/) puis le site (mkdocs build --strict)")
    b.add_argument("--config", help="fichier mkdocs.yml (défaut : celui du dépôt)")
    b.add_argument("--site-dir", help="dossier de sortie du site (défaut : site/)")
    b.add_argument("--pages-only", action="store_true",
                   help="générer seulement les pages Markdown, sans lancer mkdocs")
    b.add_argument("--no-strict", action="store_true", help="ne pas traiter les avertissements de mkdocs comme des erreurs")
    b.set_defaults(handler=run_build)


def run_build(args) -> int:
    from pathlib import Path

    from convmed.docs.build import build_site, default_config, generate_pages

    from convmed.errors import ConvmedError

    config = Path(args.config) if args.config else default_config()
    if not config.is_file():
        raise ConvmedError.single("fichier de configuration mkdocs introuvable", file=str(config), code="io")
    if args.pages_only:
        written = generate_pages(config.parent / "docs")
        print(f"{len(written)} pages générées dans {config.parent / 'docs' / 'generated'}")
        return 0
    site = build_site(config, site_dir=Path(args.site_dir) if args.site_dir else None, strict=not args.no_strict)
    print(f"site construit dans {site}")
    return 0
