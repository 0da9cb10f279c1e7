"""Starting a pooled kernel: forked from the worker's kernel template (what the worker does
now, scheduler/kernel_template.py) against a fresh interpreter that imports the same preload
itself (what it did before, bench/kernels.py). Interleaved, RUNS times each: the wall time
from the request to the kernel answering kernel_info with the preload done (a first execute
returns), and the CPU seconds the kernel process used to get there.

Usage: python bench/kernel_start.py [RUNS]   (default 7)
"""

from __future__ import annotations

import statistics
import sys
import time

import psutil
from product import ROOT, load

CWD = ROOT / "notebooks"


def ready(kernel) -> None:
    """Block until `kernel` has run a first cell (its preload is done before that)."""
    from jupyter_client import BlockingKernelClient

    client = BlockingKernelClient(connection_file=str(kernel.connection_file))
    client.load_connection_file()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        client.execute_interactive("pass", timeout=60)
    finally:
        client.stop_channels()


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    print(f"start: {load()}")
    from kernels import fresh_kernel

    from scheduler.kernel_pool import KernelTemplate

    template = KernelTemplate(CWD)
    template.fork().discard()  # the template's own start-up is paid once per worker
    rows: dict[str, list[tuple[float, float]]] = {"forked from the template": [],
                                                   "fresh interpreter": []}  # fmt: skip
    try:
        for _ in range(runs):
            for name, values in rows.items():
                started = time.perf_counter()
                kernel = (
                    template.fork() if name.startswith("forked") else fresh_kernel(CWD, freeze=True)
                )
                ready(kernel)
                wall = time.perf_counter() - started
                cpu = psutil.Process(kernel.pid).cpu_times()
                values.append((wall, cpu.user + cpu.system))
                kernel.discard()
    finally:
        template.stop()
    print(f"pooled kernel start, median of {runs}: request -> first cell done, kernel CPU")
    for name, values in rows.items():
        wall = statistics.median(v[0] for v in values)
        cpu = statistics.median(v[1] for v in values)
        print(f"  {name:<26} {wall:.3f} s   {cpu:.3f} CPU-s")
    print(f"end: {load()}")


if __name__ == "__main__":
    main()
