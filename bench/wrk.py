"""wrk on the client core: warm-up, repetitions, median requests/s and p99, CPU of both sides."""

from __future__ import annotations

import re
import statistics
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from bench import procs

LUA = Path(__file__).resolve().parent / "lua"
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass(frozen=True)
class Plan:
    """How long and how often: warm-up seconds, seconds per repetition, repetitions."""

    warmup: float
    duration: float
    repetitions: int
    saturating: int
    light: int


@dataclass(frozen=True)
class Run:
    rps: float
    p99_ms: float
    errors: int
    client_cpu: float  # fraction of one core
    server_cpu: float


@dataclass(frozen=True)
class Result:
    """The median of the repetitions of one workload against one target at one concurrency."""

    workload: str
    target: str
    connections: int
    rps: float
    p99_ms: float
    client_cpu: float
    server_cpu: float
    errors: int
    runs: tuple[Run, ...]

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def wrk_argv(
    url: str,
    connections: int,
    seconds: float,
    script: str | None,
    args: list[str],
    headers: tuple[str, ...] = (),
):
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency"]
    argv += ["--timeout", "10s"]
    for header in headers:
        argv += ["-H", header]
    if script:
        argv += ["-s", str(LUA / script)]
    argv.append(url)
    if args:
        argv += ["--", *args]
    return argv


def parse(output: str) -> tuple[float, float, int]:
    """Requests/s, p99 in ms, and the count of errors (non-2xx/3xx and socket errors)."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    match = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
    p99 = float(match.group(1)) * UNITS[match.group(2)] if match else float("nan")
    errors = 0
    if bad := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        errors += int(bad.group(1))
    if sock := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    ):
        errors += sum(int(g) for g in sock.groups())
    return rps, p99, errors


def one_run(
    url: str,
    connections: int,
    seconds: float,
    side: procs.Side,
    script: str | None,
    args: list[str],
    headers: tuple[str, ...] = (),
) -> Run:
    before = side.cpu_seconds()
    wall, client_cpu, out = procs.run_pinned(
        procs.CLIENT_CPU, wrk_argv(url, connections, seconds, script, args, headers)
    )
    server_cpu = procs.cpu_used(before, side.cpu_seconds())
    rps, p99, errors = parse(out)
    return Run(rps, p99, errors, client_cpu / wall, server_cpu / wall)


def measure(
    workload: str,
    target: str,
    url: str,
    side: procs.Side,
    plan: Plan,
    *,
    script: str | None = None,
    args: list[str] | None = None,
    levels: tuple[str, ...] = ("saturating", "light"),
    headers: tuple[str, ...] = (),
) -> list[Result]:
    """Warm up, then `plan.repetitions` runs at each concurrency level; medians."""
    args = args or []
    results = []
    for level in levels:
        connections = plan.saturating if level == "saturating" else plan.light
        if plan.warmup:
            warm = subprocess.run(
                procs.pinned(
                    procs.CLIENT_CPU, wrk_argv(url, connections, plan.warmup, script, args, headers)
                ),
                capture_output=True,
                text=True,
            )
            if warm.returncode:
                raise RuntimeError(f"wrk failed: {warm.stdout}{warm.stderr}")
        runs = tuple(
            one_run(url, connections, plan.duration, side, script, args, headers)
            for _ in range(plan.repetitions)
        )
        results.append(
            Result(
                workload=workload,
                target=target,
                connections=connections,
                rps=statistics.median(r.rps for r in runs),
                p99_ms=statistics.median(r.p99_ms for r in runs),
                client_cpu=statistics.median(r.client_cpu for r in runs),
                server_cpu=statistics.median(r.server_cpu for r in runs),
                errors=sum(r.errors for r in runs),
                runs=runs,
            )
        )
        print(
            f"  {workload:<28} {target:<16} c={connections:<3} "
            f"{results[-1].rps:>10.0f} req/s  p99 {results[-1].p99_ms:>8.2f} ms  "
            f"cpu client {results[-1].client_cpu:.0%} server {results[-1].server_cpu:.0%}"
            + (f"  ERRORS {results[-1].errors}" if results[-1].errors else ""),
            flush=True,
        )
    return results
