"""What two candidate changes to the pooled kernel would save, measured before making them:
the job's papermill call on a pooled kernel, as the worker makes it, against variants built
here in the bench process only (no product code changes):

- "no IOPub flush": jupyter_client's `wait_for_ready` (nbclient calls it on every run, pooled
  kernel or not) ends by reading IOPub until nothing has come for 0.2 s: a fixed 0.2 s wait.
  The variant replaces it, for the run, by a kernel_info round trip alone.
- "more preload": the kernel also preloads the modules the sample report still imports in
  its cells (`tinymongo`, via reporting.store's embedded-store branch; pandas' Styler and
  jinja2; IPython's magics modules) -- found with py-spy under execute_request.

On one seeded store, RUNS rounds of the four combinations, each on a fresh kernel left to
finish warming up. Prints the cells' time (papermill's durations) and the whole call.

Both changes are made now (scheduler/kernel_pool.py's PooledKernelClient already skips the
flush, so "call - cells" no longer differs between the variants; the kernels here are started
as fresh interpreters, as they were then, not forked from the kernel template). The figures in
BENCHMARKS.md are from before the changes.

Usage: python bench/kernel_variants.py [RUNS]   (default 7)
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from product import ROOT, load

MORE_PRELOAD = ("tinymongo", "pandas.io.formats.style", "IPython.core.magics")


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    print(f"start: {load()}")
    tmp = tempfile.mkdtemp(prefix="reportbook-variants-")
    os.environ.update(REPORTBOOK_DATA_DIR=tmp, MONGODB_URI="")
    from jupyter_client.asynchronous.client import AsyncKernelClient
    from kernels import fresh_kernel, ready_manager

    import scheduler.kernel_pool as kp
    from reporting.execution import execute
    from reporting.launcher import seed
    from reporting.notebooks import NotebookCatalog
    from reporting.settings import load_settings
    from scheduler.kernel_template import PRELOAD

    seed(load_settings())
    PRELOAD_THEN = tuple(m for m in PRELOAD if m not in MORE_PRELOAD)  # before change 2
    spec = NotebookCatalog(ROOT / "notebooks").get("reddit_report")
    stock_wait = AsyncKernelClient.wait_for_ready

    async def kernel_info_only(self, timeout=None):
        await self._async_recv_reply(self.kernel_info(), timeout=timeout)

    def start(more: tuple[str, ...]) -> kp.PooledKernel:
        """A kernel as the worker started them then, with `more` preloaded."""
        return fresh_kernel(spec.path.parent, PRELOAD_THEN + more)

    variants = {
        "as is": (False, ()),
        "no IOPub flush": (True, ()),
        "more preload": (False, MORE_PRELOAD),
        "both": (True, MORE_PRELOAD),
    }
    rows: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    for i in range(runs):
        for name, (no_flush, more) in variants.items():
            kernel = start(more)
            try:
                km = ready_manager(kernel)
                AsyncKernelClient.wait_for_ready = kernel_info_only if no_flush else stock_wait  # type: ignore[method-assign]
                started = time.perf_counter()
                run = execute(spec, {}, Path(tmp) / "out.ipynb", "python3", km=km)
                rows[name].append((run.cell_seconds, time.perf_counter() - started))
            finally:
                AsyncKernelClient.wait_for_ready = stock_wait  # type: ignore[method-assign]
                kernel.discard()
        print(f"  round {i + 1}: " + "  ".join(f"{n} {r[-1][1]:.2f}" for n, r in rows.items())
              + f"  ({load()})", flush=True)  # fmt: skip
    print(f"sample report on a pooled kernel, median of {runs} (seconds)")
    print(f"  {'':<16} {'cells':>6} {'call':>6} {'call - cells':>13}")
    for name, r in rows.items():
        cells = statistics.median(a for a, _ in r)
        call = statistics.median(b for _, b in r)
        over = statistics.median(b - a for a, b in r)
        print(f"  {name:<16} {cells:6.2f} {call:6.2f} {over:13.3f}")
    print(f"end: {load()}")


if __name__ == "__main__":
    main()
