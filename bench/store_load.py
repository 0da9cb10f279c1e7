"""The sample report's data load on the embedded store, as the repository does it now (the
product's documents, filtered in pandas) against the store evaluating `period_filter` itself
(what it did before; what MongoDB still runs, indexed). Interleaved, in one process:
`load_posts` + `load_comments`, five subreddits, the whole quarter.

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
QUARTER = ("2026-07-01", "2026-09-30")


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
        figures: dict[str, list[float]] = {"store filter": [], "pandas filter": []}
        for _ in range(runs):
            for name, values in figures.items():
                repo._filter_in_pandas = name == "pandas filter"
                started = time.perf_counter()
                repo.load_posts(SAMPLE_PRODUCT, *QUARTER, SUBREDDITS)
                repo.load_comments(SAMPLE_PRODUCT, *QUARTER, SUBREDDITS)
                values.append(time.perf_counter() - started)
    for name, values in figures.items():
        print(
            f"{name:<14} {statistics.median(values):.3f} s  [{' '.join(f'{v:.2f}' for v in values)}]"
        )
    before, after = (statistics.median(v) for v in figures.values())
    print(f"saved {before - after:.3f} s per report ({before / after:.2f}x faster)")
    print(f"end: {load()}")


if __name__ == "__main__":
    main()
