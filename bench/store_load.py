"""Loading Reddit data on the embedded store, as the repository does it now against the store
evaluating `period_filter` itself (what it did before; what MongoDB still runs, indexed).
Interleaved, in one process: `load_posts` + `load_comments` with the sample report's five
subreddits, for the whole quarter the sample data covers (read whole, filtered in pandas) and
for one week (the date range in the store, subreddits in pandas), as a snapshot's chunk loads.

Usage: python bench/store_load.py [RUNS]   (default 7)
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time

from product import load

SUBREDDITS = ["espresso", "Coffee", "BuyItForLife", "homebarista", "Cafe"]
PERIODS = {"quarter": ("2026-07-01", "2026-09-30"), "one week": ("2026-08-10", "2026-08-16")}


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    print(f"start: {load()}")
    with tempfile.TemporaryDirectory(prefix="reportbook-load-") as tmp:
        os.environ.update(REPORTBOOK_DATA_DIR=tmp, MONGODB_URI="")
        from reporting.launcher import seed
        from reporting.reddit import RedditRepository
        from reporting.sample_data import SAMPLE_PRODUCT
        from reporting.settings import load_settings
        from reporting.store import open_store

        seed(load_settings())
        repo = RedditRepository(open_store(load_settings()).db)
        for period, (start, end) in PERIODS.items():
            figures: dict[str, list[float]] = {"store query": [], "repository": []}
            for _ in range(runs):
                for name, values in figures.items():
                    repo._embedded = name == "repository"
                    started = time.perf_counter()
                    repo.load_posts(SAMPLE_PRODUCT, start, end, SUBREDDITS)
                    repo.load_comments(SAMPLE_PRODUCT, start, end, SUBREDDITS)
                    values.append(time.perf_counter() - started)
            print(f"{period}:")
            for name, values in figures.items():
                runs_text = " ".join(f"{v:.2f}" for v in values)
                print(f"  {name:<12} {statistics.median(values):.3f} s  [{runs_text}]")
            before, after = (statistics.median(v) for v in figures.values())
            print(f"  saved {before - after:.3f} s per load ({before / after:.2f}x faster)")
    print(f"end: {load()}")


if __name__ == "__main__":
    main()
