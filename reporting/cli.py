"""The `reportbook` command."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path
from typing import Any

from reporting.logs import configure_logging
from reporting.settings import Settings

SHOWN_REJECTED = 10  # rejected rows printed per run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="reportbook", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="start the whole product in the foreground")
    run.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    run.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    run.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("REPORTBOOK_WORKERS", "2")),
        help="RQ worker processes (default 2, one per core here)",
    )
    run.add_argument(
        "--exit-with-parent",
        action="store_true",
        help="stop when the parent process dies or is signalled (make run uses it)",
    )
    commands.add_parser("seed", help="load the sample dataset into the store (once)")
    imports = commands.add_parser(
        "import-reddit", help="import Reddit dump files (JSON lines, JSON, CSV) for a product"
    )
    imports.add_argument("--product", required=True, help="the product's slug")
    imports.add_argument(
        "--format", choices=["ndjson", "json", "csv"], help="default: from each file's extension"
    )
    imports.add_argument("files", nargs="+", type=Path, metavar="FILE")
    fetch = commands.add_parser(
        "fetch-reddit", help="import a subreddit's posts from Reddit's public JSON listings"
    )
    fetch.add_argument("--product", required=True, help="the product's slug")
    fetch.add_argument("--subreddit", required=True)
    fetch.add_argument("--query", help="search the subreddit (default: its newest posts)")
    fetch.add_argument("--limit", type=int, default=1000, help="most posts read (default 1000)")
    args = parser.parse_args(argv)

    from reporting import launcher
    from reporting.settings import load_settings

    configure_logging(load_settings())

    if args.command == "run":
        return launcher.run(args.host, args.port, args.workers, args.exit_with_parent)
    if args.command in ("import-reddit", "fetch-reddit"):
        return _reddit(args, load_settings())
    print(f"{launcher.seed(load_settings())} sample posts added")
    return 0


def _reddit(args: argparse.Namespace, settings: Settings) -> int:
    """import-reddit / fetch-reddit: each file (or the fetch) is one recorded ingestion run;
    1 if one could not be read at all, 2 for an unknown product."""
    from reporting.ingestion import IngestionRepository, IngestionSource, cli_actor
    from reporting.products import ProductRepository
    from reporting.reddit import RedditRepository
    from reporting.reddit_dumps import DumpFormat, detect_format, read_dump
    from reporting.reddit_import import ingest
    from reporting.reddit_source import RedditSource, SourceError, fetch
    from reporting.store import open_store

    store = open_store(settings)
    try:
        product = ProductRepository(store.db).by_slug(args.product)
        if product is None:
            print(f"no product with slug {args.product!r}", file=sys.stderr)
            return 2
        reddit, runs = RedditRepository(store.db), IngestionRepository(store.db)
        reddit.ensure_indexes()
        runs.ensure_indexes()
        who = cli_actor(getpass.getuser())
        if args.command == "fetch-reddit":
            with RedditSource(settings.reddit_base_url) as source:
                try:
                    run = fetch(source, runs, reddit, product, args.subreddit, started_by=who,
                                query=args.query, limit=args.limit)  # fmt: skip
                except SourceError as exc:
                    print(f"r/{args.subreddit}: {exc.message}", file=sys.stderr)
                    return 1
            _print_run(run)
            return 0
        failed = 0
        for path in args.files:
            fmt = DumpFormat(args.format) if args.format else detect_format(path.name)
            if fmt is None:
                print(f"{path}: unknown format; use .jsonl, .ndjson, .json, .csv or --format",
                      file=sys.stderr)  # fmt: skip
                failed += 1
                continue
            try:
                with path.open("rb") as stream:
                    run = ingest(runs, reddit, product, read_dump(stream, fmt), source=IngestionSource.cli,
                                 started_by=who, filename=path.name, format=fmt.value)  # fmt: skip
            except OSError as exc:
                print(f"{path}: {exc.strerror or exc}", file=sys.stderr)
                failed += 1
                continue
            _print_run(run)
            failed += run["status"] == "failed"
        return 1 if failed else 0
    finally:
        store.close()


def _print_run(run: dict[str, Any]) -> None:
    counts = run["counts"]
    print(f"{run['filename']}: {run['status']}: read {counts['read']}, posts added "
          f"{counts['posts_added']}, comments added {counts['comments_added']}, duplicates "
          f"{counts['duplicates']}, rejected {counts['rejected']} (ingestion run {run['_id']})")  # fmt: skip
    if run["error"]:
        print(f"  {run['error']}")
    for rejected in run["rejected_rows"][:SHOWN_REJECTED]:
        print(f"  row {rejected['row']}: {rejected['reason']}")
    if counts["rejected"] > SHOWN_REJECTED:
        print(f"  ... and {counts['rejected'] - SHOWN_REJECTED} more rejected rows")


if __name__ == "__main__":
    raise SystemExit(main())
