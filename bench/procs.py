"""Processes the benchmark runs: pinned to a core, timed, and their CPU use accounted."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
CLIENT_CPU = "0"  # the load generator's core
SERVER_CPU = "1"  # the server's, and its database's


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pinned(cpu: str, argv: Sequence[str]) -> list[str]:
    return ["taskset", "-c", cpu, *argv]


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {timeout} s")


@dataclass
class Side:
    """The processes of one side of a measurement (a server and its database): CPU seconds."""

    pids: list[int] = field(default_factory=list)
    with_children: bool = True

    def processes(self) -> list[psutil.Process]:
        found: dict[int, psutil.Process] = {}
        for pid in self.pids:
            with contextlib.suppress(psutil.Error):
                proc = psutil.Process(pid)
                found[pid] = proc
                if self.with_children:
                    for child in proc.children(recursive=True):
                        found[child.pid] = child
        return list(found.values())

    def cpu_seconds(self) -> dict[int, float]:
        seconds: dict[int, float] = {}
        for proc in self.processes():
            with contextlib.suppress(psutil.Error):
                times = proc.cpu_times()
                seconds[proc.pid] = times.user + times.system
        return seconds


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between two samples by the processes alive at the second."""
    return sum(after[pid] - before.get(pid, 0.0) for pid in after)


def pin_tree(pid: int, cpu: str) -> None:
    """Pin a running process and its children (a Postgres postmaster and its backends)."""
    procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.cpu_affinity([int(cpu)])


class Server:
    """A server process started pinned to the server core, stopped with SIGTERM."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        port: int,
        *,
        env: dict[str, str] | None = None,
        log: Path,
        ready_line: str | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.port = port
        log.parent.mkdir(parents=True, exist_ok=True)
        self._log = log.open("ab")
        self.proc = subprocess.Popen(
            pinned(SERVER_CPU, argv),
            env=env,
            stdout=subprocess.PIPE if ready_line else self._log,
            stderr=self._log,
            cwd=cwd,
        )
        if ready_line:
            assert self.proc.stdout is not None
            deadline = time.monotonic() + 120
            for raw in self.proc.stdout:
                self._log.write(raw)
                if ready_line in raw.decode(errors="replace"):
                    break
                if time.monotonic() > deadline:
                    break
            else:
                raise RuntimeError(f"{name} exited before it was ready; see {log}")
        wait_for_port(port, 60)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


@contextlib.contextmanager
def running(server: Server) -> Iterator[Server]:
    try:
        yield server
    finally:
        server.stop()


def run_pinned(cpu: str, argv: Sequence[str], **kwargs: object) -> tuple[float, float, str]:
    """Run a command to its end on one core: (wall seconds, CPU seconds, stdout)."""
    _children_cpu()  # forget what children waited for earlier used
    start = time.perf_counter()
    proc = subprocess.Popen(
        pinned(cpu, argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs
    )
    out, err = proc.communicate()
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed ({proc.returncode}): {err.decode()[-2000:]}")
    usage = _children_cpu()
    return wall, usage, out.decode(errors="replace")


_last_children_cpu = [0.0]


def _children_cpu() -> float:
    """CPU seconds of the waited-for children since the previous call."""
    usage = os.times()
    total = usage.children_user + usage.children_system
    spent, _last_children_cpu[0] = total - _last_children_cpu[0], total
    return spent


def python() -> str:
    return sys.executable
