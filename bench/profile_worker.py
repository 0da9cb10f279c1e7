"""Where a worker's time goes for the sample report: py-spy (the `bench` extra) samples one
worker and its subprocesses (the job process it forks per task, the pooled kernels it starts)
while RUNS reports run one after another, and prints, per process kind, the seconds per report
the main thread was busy (on CPU, or runnable, or in native code: not waiting in a select,
poll, sleep or lock) and the functions with the most inclusive busy time.

Needs ptrace (root here). The product runs with ONE worker, so that it gets every task.

Usage: python bench/profile_worker.py [--runs N] [--top K] [--notebook NAME]  (default 5, 25)
"""

from __future__ import annotations

import argparse
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import psutil
from proctree import kind, settle
from product import load, run_to_success, running_product

RATE = 100
PROCESS = re.compile(r'process (\d+):"(.*?)"(?:;|$)')
# Frames that say nothing about where the time goes: entry points and dispatch.
BORING = re.compile(
    r"^(<module>|_run_module_as_main|_run_code|main|run|start|run_forever|_run_once|_run"
    r"|launch_new_instance|dispatch_\w+|process_one|dispatch_queue|execute_request|run_cell"
    r"|_run_cell|run_cell_async|run_ast_nodes|run_code|wrapper|execute_job|fork_work_horse"
    r"|main_work_horse|perform_job|perform|_execute|run_task|work|_run_until_complete"
    r"|run_until_complete|__call__|inner|wrapped|ensure_async|run_sync|wrapped_fn) "
)


# A main thread waiting for something, not working.
WAITING = re.compile(
    r"^(\w+\.)?(select|poll|_poll|epoll|wait|_wait|sleep|acquire|recv|recv_multipart|_recv_copy"
    r"|read|readinto|readline|accept|get_msg|_wait_for_tstate_lock|waitpid|_try_wait) "
)


def process_kind(cmdlines: list[str], stack: str) -> str:
    # By the frames first: py-spy may keep the command line it saw for a new pid between
    # fork and exec (a kernel labelled with its parent's "python -m scheduler.worker").
    if "(ipykernel/" in stack or "ipykernel_launcher" in cmdlines[-1]:
        return "kernel"
    if "main_work_horse" in stack:
        return "job"
    if "scheduler.worker" in cmdlines[-1]:
        return "worker"
    return "other"


def parse(raw: str) -> tuple[Counter, dict[str, Counter]]:
    """Raw py-spy output -> (samples per kind, inclusive samples per function per kind)."""
    per_kind: Counter = Counter()
    functions: dict[str, Counter] = defaultdict(Counter)
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        cmdlines = [m.group(2) for m in PROCESS.finditer(stack)]
        frames = PROCESS.sub("", stack).split(";")
        if not cmdlines:
            continue
        if "Thread._bootstrap" in stack:
            continue  # not a main thread: kernels' iopub/control/heartbeat, monitors
        leaf = frames[-1] if frames else ""
        if WAITING.match(leaf):
            continue
        k = process_kind(cmdlines, stack)
        per_kind[k] += int(count)
        for frame in set(frames):
            if frame and not BORING.match(frame):
                functions[k][frame] += int(count)
    return per_kind, functions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--notebook", default="reddit_report")
    parser.add_argument("--raw", type=Path, help="keep py-spy's raw (collapsed) stacks here")
    args = parser.parse_args()
    py_spy = Path(sys.executable).parent / "py-spy"
    if not py_spy.exists():
        raise SystemExit("py-spy is missing: pip install -e '.[bench]'")
    print(f"start: {load()}")
    with tempfile.TemporaryDirectory(prefix="reportbook-profile-") as tmp:
        with running_product(Path(tmp) / "var", workers=1) as client:
            run_to_success(client, {"notebook": args.notebook})  # warm-up
            settle(client.pid)  # type: ignore[attr-defined]
            procs = psutil.Process(client.pid).children(recursive=True)  # type: ignore[attr-defined]
            worker = next(p for p in procs if kind(p) == "worker")
            out = Path(tmp) / "raw.txt"
            spy = subprocess.Popen(
                [str(py_spy), "record", "--pid", str(worker.pid), "--subprocesses",
                 "--rate", str(RATE), "--format", "raw", "--nolineno", "--nonblocking",
                 "--output", str(out)],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            )  # fmt: skip
            time.sleep(1.0)  # py-spy attaches
            totals = []
            for _ in range(args.runs):
                seconds, task = run_to_success(client, {"notebook": args.notebook}, poll=0.25)
                totals.append(seconds)
            settle(client.pid)  # type: ignore[attr-defined]  # the next kernel's warm-up too
            spy.send_signal(signal.SIGINT)
            spy.wait(60)
            raw = out.read_text()
            if args.raw:
                args.raw.write_text(raw)
    per_kind, functions = parse(raw)
    print(
        f"{args.runs} {args.notebook} reports, one worker, py-spy at {RATE} Hz: seconds per "
        "report each process's main thread was busy (not waiting), by inclusive function"
    )
    print("  request -> success per report: " + " ".join(f"{t:.2f}" for t in totals))
    for k, samples in per_kind.most_common():
        print(f"\n  {k}: {samples / RATE / args.runs:.2f} s busy per report")
        for frame, n in functions[k].most_common(args.top):
            print(f"    {n / RATE / args.runs:6.3f}  {frame[:110]}")
    print(f"\nend: {load()}")


if __name__ == "__main__":
    main()
