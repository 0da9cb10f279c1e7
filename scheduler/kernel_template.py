"""`python -m scheduler.kernel_template`: the process each pooled worker forks its kernels from.

It imports what reports use (PRELOAD) and ipykernel once, moves all of it out of the garbage
collector's reach, then waits on stdin. For each request (a JSON line naming a connection
file) it forks a child that becomes an ipykernel on that connection file, and answers with the
child's pid. A kernel so made starts in ~0.1 CPU-s instead of ~1.3 (a fresh interpreter
importing pandas, matplotlib, the store...; bench/kernel_start.py), and no report competes
with the next kernel's imports.

Before forking, the template has started no thread of its own and no ZMQ context: the child
creates those as any new kernel does. It exits when stdin closes (its worker is gone), and its
kernels follow: each polls for its parent (ipykernel's `parent_handle`) and has asked to be
killed when it goes (PR_SET_PDEATHSIG); the template itself is started that way by its worker.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import signal
import sys

from reporting.processes import die_with_parent

# What the notebooks import, and what they import on first use (tinymongo, pandas' Styler for
# report tables, IPython's magics for %matplotlib): bench/kernel_variants.py.
PRELOAD = ("pandas", "matplotlib.pyplot", "matplotlib_inline.backend_inline",
           "pandas.io.formats.style", "IPython.core.magics", "tinymongo",
           "reporting.analytics", "reporting.charts", "reporting.reddit", "reporting.store",
           "reporting.sentiment", "reporting.themes", "reporting.journey")  # fmt: skip
READY = "ready"


def _reap(_signum: int, _frame: object) -> None:
    """Collect the exit status of every kernel that ended (the worker kills them)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _become_kernel(connection_file: str) -> None:
    """In the forked child: run an ipykernel on `connection_file` until it is killed."""
    try:
        os.setsid()  # its own process group: the worker kills the kernel's whole tree
        die_with_parent(signal.SIGKILL)  # and it ends with the template
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the cells' subprocesses are theirs
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 0)
        os.dup2(null, 1)  # stderr stays the worker's, as for a kernel it would start itself
        import numpy

        numpy.random.seed()  # a seed of its own, as a new process has (`random` reseeds itself)
        from ipykernel.kernelapp import IPKernelApp

        IPKernelApp.launch_instance(
            argv=["-f", connection_file, f"--IPKernelApp.parent_handle={os.getppid()}"]
        )
    finally:
        os._exit(0)


def serve() -> None:
    for name in (*PRELOAD, "ipykernel.kernelapp"):
        importlib.import_module(name)
    gc.collect()
    gc.freeze()  # the kernels' collections walk only what their run made
    signal.signal(signal.SIGCHLD, _reap)
    print(READY, flush=True)
    for line in sys.stdin:  # EOF: the worker is gone
        connection_file = json.loads(line)["connection_file"]
        pid = os.fork()
        if pid == 0:
            _become_kernel(connection_file)
        print(pid, flush=True)


def main() -> None:
    """Serve until the worker goes away. A worker that stops or dies while the template is
    starting or answering leaves a closed pipe: that is the end of the job, not an error
    (no BrokenPipeError traceback on every stop)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        serve()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing left to flush


if __name__ == "__main__":
    main()
