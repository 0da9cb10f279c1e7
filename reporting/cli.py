"""The `reportbook` command."""

from __future__ import annotations

import argparse
import os

from reporting.logs import configure_logging


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
    commands.add_parser("seed", help="load the sample dataset into the store (once)")
    args = parser.parse_args(argv)

    from reporting import launcher
    from reporting.settings import load_settings

    configure_logging(load_settings())

    if args.command == "run":
        return launcher.run(args.host, args.port, args.workers)
    print(f"{launcher.seed(load_settings())} sample posts added")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
