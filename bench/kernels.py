"""Kernels started the way the worker started them before the kernel template: a fresh
interpreter running ipykernel, importing the preload itself (IPKernelApp.exec_lines). The
benches compare the product's kernels against these."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from jupyter_client.connect import write_connection_file
from proctree import settle

from scheduler.kernel_pool import CONNECTION_ENV, PID_ENV, PooledKernel, PooledKernelManager
from scheduler.kernel_template import PRELOAD


def fresh_kernel(
    cwd: Path, modules: tuple[str, ...] = PRELOAD, freeze: bool = False
) -> PooledKernel:
    """A new kernel process that imports `modules` at start-up (then `gc.freeze()`s them)."""
    fd, path = tempfile.mkstemp(prefix="reportbook-kernel-", suffix=".json")
    os.close(fd)
    write_connection_file(path)
    preload = f"import importlib as _i, gc as _gc\n[_i.import_module(_m) for _m in {modules!r}]\n"
    if freeze:
        preload += "_gc.collect()\n_gc.freeze()\n"
    process = subprocess.Popen(
        [sys.executable, "-m", "ipykernel_launcher", "-f", path,
         f"--IPKernelApp.exec_lines={json.dumps([preload + 'del _i, _gc'])}"],
        cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    return PooledKernel(process.pid, Path(path))


def ready_manager(kernel: PooledKernel) -> PooledKernelManager:
    """The kernel manager a job process would get for `kernel` (through the environment, as
    the worker hands it over), once the kernel has answered and finished its start-up."""
    os.environ[CONNECTION_ENV] = str(kernel.connection_file)
    os.environ[PID_ENV] = str(kernel.pid)
    km = PooledKernelManager.from_environment()
    assert km is not None
    client = km.blocking_client()
    client.start_channels()
    client.wait_for_ready(timeout=60)
    client.stop_channels()
    settle(kernel.pid)  # the preload has finished
    return km
