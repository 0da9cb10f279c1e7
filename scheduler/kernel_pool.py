"""Pre-started kernels: a run starts on a kernel that is already up with the common imports
loaded, instead of paying ~1 s of kernel start and ~0.8 s of imports.

The RQ worker (the parent of every job process) keeps one kernel ready while it waits for
work. When a job comes, the job process gets that kernel (its connection file and pid through
the environment), runs exactly one notebook on it, and the worker kills it afterwards and
makes the next one: no state can leak from one run into another. Kernels are forked from the
worker's kernel template (scheduler/kernel_template.py), which imported everything once.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from queue import Empty
from typing import Any

import psutil
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.connect import write_connection_file
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import ensure_async
from traitlets import DottedObjectName, Type

from reporting.processes import bound_to_parent
from reporting.queue import RUN_TASK
from scheduler.kernel_template import READY
from scheduler.monitor import kill_tree
from scheduler.report_worker import ReportWorker

log = logging.getLogger(__name__)

CONNECTION_ENV = "REPORTBOOK_KERNEL_CONNECTION"
PID_ENV = "REPORTBOOK_KERNEL_PID"


@dataclass
class PooledKernel:
    pid: int
    connection_file: Path

    def __post_init__(self) -> None:
        try:  # taken at once: psutil then knows its start time
            self._process: psutil.Process | None = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            self._process = None

    def alive(self) -> bool:
        try:
            return self._process is not None and self._process.status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    def discard(self) -> None:
        # Killed only if it is still this kernel: the template reaps kernels as they exit (a
        # cancelled run's kernel is killed by the job), and the pid may be reused by then.
        if self._process is not None and self._process.is_running():
            kill_tree(self.pid)
        if self.connection_file.parent.name.startswith("reportbook-kernel-"):
            shutil.rmtree(self.connection_file.parent, ignore_errors=True)  # and its sockets
        else:
            self.connection_file.unlink(missing_ok=True)


class KernelTemplate:
    """The worker's `python -m scheduler.kernel_template` process: forks a kernel on request.
    Started on first use, and again if it died."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.process: subprocess.Popen[str] | None = None

    def _started(self) -> subprocess.Popen[str]:
        if self.process is not None and self.process.poll() is None:
            return self.process
        if self.process is not None:
            log.warning(
                "kernel template exited with %s; starting it again", self.process.returncode
            )
        self.process = subprocess.Popen(
            [sys.executable, "-m", "scheduler.kernel_template"], cwd=self.cwd, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True,
            preexec_fn=bound_to_parent(),  # it dies with its worker, even a SIGKILLed one
        )  # fmt: skip
        self._reply(self.process, READY)
        return self.process

    @staticmethod
    def _reply(process: subprocess.Popen[str], expected: str | None = None) -> str:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        if not line or (expected is not None and line != expected):
            process.kill()
            process.wait()
            raise RuntimeError(f"the kernel template failed (exit {process.returncode})")
        return line

    def fork(self) -> PooledKernel:
        """A new kernel, already importing nothing: the template did."""
        process = self._started()
        # IPC sockets in a private folder, not TCP on localhost: no other user can connect,
        # and the kernel has no reason to warn about unencrypted TCP.
        folder = Path(tempfile.mkdtemp(prefix="reportbook-kernel-"))
        path = str(folder / "kernel.json")
        write_connection_file(path, transport="ipc", ip=str(folder / "k"))
        assert process.stdin is not None
        process.stdin.write(json.dumps({"connection_file": path}) + "\n")
        process.stdin.flush()
        return PooledKernel(int(self._reply(process)), Path(path))

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.process is not None:
            kill_tree(self.process.pid)
            self.process = None


class PooledKernelClient(AsyncKernelClient):
    """The client of a pooled kernel. jupyter_client's wait_for_ready ends by reading IOPub
    until it has been quiet for 0.2 s, on every run; a pooled kernel is up before the job
    starts, and nbclient ignores messages that answer other requests, so once kernel_info is
    answered on the shell channel and IOPub has delivered a message (it is connected), what
    is already queued is drained without waiting (bench/kernel_variants.py: papermill's
    overhead 0.218 -> 0.017 s)."""

    async def _async_wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (timeout or 60.0)
        while True:
            self.kernel_info()
            try:
                reply = await ensure_async(self.shell_channel.get_msg(timeout=1))
            except Empty:
                reply = None
            if reply is not None and reply["msg_type"] == "kernel_info_reply":
                try:  # its status messages prove IOPub is connected
                    await ensure_async(self.iopub_channel.get_msg(timeout=0.2))
                except Empty:
                    pass
                else:
                    self._handle_kernel_info_reply(reply)
                    break
            if not await self._async_is_alive():
                raise RuntimeError("the pooled kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the pooled kernel did not answer within {timeout} s")
        while True:  # drain what has arrived, without waiting for silence
            try:
                await ensure_async(self.iopub_channel.get_msg(timeout=0))
            except Empty:
                return

    wait_for_ready = _async_wait_for_ready


class PooledKernelManager(AsyncKernelManager):
    """Talks to a kernel the worker started; papermill/nbclient use it instead of starting
    one. It knows the kernel by pid only: the worker kills it after the run."""

    kernel_pid: int | None = None
    client_class = DottedObjectName("scheduler.kernel_pool.PooledKernelClient")
    client_factory = Type(klass=PooledKernelClient)

    @property
    def has_kernel(self) -> bool:
        return True

    async def _async_is_alive(self) -> bool:
        return self.kernel_pid is not None and psutil.pid_exists(self.kernel_pid)

    is_alive = _async_is_alive

    async def _async_shutdown_kernel(self, now: bool = False, restart: bool = False) -> None:
        if self.kernel_pid is not None:
            kill_tree(self.kernel_pid)

    shutdown_kernel = _async_shutdown_kernel

    @classmethod
    def from_environment(cls) -> PooledKernelManager | None:
        connection = os.environ.get(CONNECTION_ENV)
        if not connection or not Path(connection).is_file():
            return None
        km = cls(connection_file=connection)
        km.load_connection_file()
        km.kernel_pid = pooled_kernel_pid()
        return km


def pooled_kernel_pid() -> int | None:
    value = os.environ.get(PID_ENV)
    return int(value) if value else None


class PooledWorker(ReportWorker):
    """An RQ worker that hands each job a pre-started kernel and replaces it after the job.

    While it waits for work it checks every KERNEL_CHECK_SECONDS that its kernel and the
    kernel template are alive, and makes them again if not (backing off when the template
    keeps failing): a killed template is back within seconds, not at the next job."""

    KERNEL_CHECK_SECONDS = 2
    MAX_FORK_BACKOFF = 60.0

    def __init__(self, *args: Any, kernel_cwd: Path, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.template = KernelTemplate(kernel_cwd)
        self._waiting = False
        self._fork_backoff = 0.0
        self._next_fork_at = 0.0
        self.next_kernel: PooledKernel | None = self._fork()

    @property
    def dequeue_timeout(self) -> int:
        """How long one wait for a job blocks: the kernel checks run between two waits."""
        return self.KERNEL_CHECK_SECONDS

    def _fork(self) -> PooledKernel | None:
        """A kernel from the template; None if it cannot make one (the run then starts its
        own kernel, as without the pool: slower, never lost)."""
        try:
            kernel = self.template.fork()
        except (OSError, RuntimeError, ValueError):
            log.exception("the kernel template could not fork a kernel")
            self._fork_backoff = min(max(self._fork_backoff * 2, 1.0), self.MAX_FORK_BACKOFF)
            self._next_fork_at = time.monotonic() + self._fork_backoff
            return None
        self._fork_backoff = 0.0
        return kernel

    def dequeue_job_and_maintain_ttl(self, timeout: Any, max_idle_time: Any = None) -> Any:
        self._waiting = True
        try:
            return super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)
        finally:
            self._waiting = False

    def heartbeat(self, timeout: Any = None, pipeline: Any = None) -> None:
        super().heartbeat(timeout, pipeline)
        if self._waiting and pipeline is None:  # between two waits for a job
            self._keep_kernel_ready()

    def _keep_kernel_ready(self) -> None:
        kernel = self.next_kernel
        if kernel is not None and kernel.alive() and self.template.alive():
            return
        if kernel is None and time.monotonic() < self._next_fork_at:
            return
        if kernel is not None:
            log.warning("the pooled kernel or its template died; making them again")
            kernel.discard()
        self.next_kernel = self._fork()

    def execute_job(self, job: Any, queue: Any) -> None:
        if job.func_name != RUN_TASK:  # a pipeline job runs no notebook: the kernel waits
            super().execute_job(job, queue)
            return
        kernel, self.next_kernel = self.next_kernel, None
        if kernel is not None and not (kernel.alive() and self.template.alive()):
            kernel.discard()  # its template died since the last check
            kernel = None
        kernel = kernel or self._fork()
        if kernel is None:
            super().execute_job(job, queue)
        else:
            os.environ[CONNECTION_ENV] = str(kernel.connection_file)
            os.environ[PID_ENV] = str(kernel.pid)
            try:
                super().execute_job(job, queue)  # forks the job process, which inherits both
            finally:
                del os.environ[CONNECTION_ENV], os.environ[PID_ENV]
                kernel.discard()  # one run per kernel
        if not self._stop_requested:
            self.next_kernel = self._fork()  # starts up while we wait

    def teardown(self) -> None:
        if self.next_kernel is not None:
            self.next_kernel.discard()
            self.next_kernel = None
        self.template.stop()
        super().teardown()
