"""`make soak`: a bounded soak of a real refbin process (not part of `make test`).

Mixed traffic (links, pastes, uploads, redirects, raw reads, deletes) for SOAK_SECONDS (default
180) while `refbin sweep` runs every 20 s and PostgreSQL is restarted once, half way. It ends
with the figures: operations, statuses, latencies, unexpected errors (anything but the 503s
answered while PostgreSQL was down), visit counts compared with what was sent, and every stored
item's bytes verified by hash. Exits non-zero when anything does not add up.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import shutil
import signal
import socket
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import asyncpg

from bot.db import EmbeddedPostgres

DURATION = float(os.environ.get("SOAK_SECONDS", "180"))
CLIENTS = int(os.environ.get("SOAK_CLIENTS", "8"))


@dataclass
class Ledger:
    """What the soak believes refbin holds, to check against what it serves."""

    links: dict[str, str] = field(default_factory=dict)  # id -> target
    blobs: dict[str, str] = field(default_factory=dict)  # id -> sha256 of the bytes
    tokens: dict[str, str] = field(default_factory=dict)  # id -> delete token
    deleted: set[str] = field(default_factory=set)
    redirects: Counter[str] = field(default_factory=Counter)  # id -> 302s received
    statuses: Counter[str] = field(default_factory=Counter)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    unexpected: list[str] = field(default_factory=list)
    outage: bool = False
    outage_503s: int = 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def timed(ledger: Ledger, op: str, request) -> aiohttp.ClientResponse | None:
    started = time.perf_counter()
    try:
        response = await request
        await response.read()
    except aiohttp.ClientError as exc:
        ledger.unexpected.append(f"{op}: {exc!r}")
        return None
    ledger.latencies.setdefault(op, []).append(time.perf_counter() - started)
    ledger.statuses[f"{op} {response.status}"] += 1
    if response.status == 503 and ledger.outage:
        ledger.outage_503s += 1
        return None
    return response


def expect(ledger: Ledger, op: str, response: aiohttp.ClientResponse | None, *ok: int) -> bool:
    if response is None:
        return False
    if response.status not in ok:
        ledger.unexpected.append(f"{op}: HTTP {response.status}")
        return False
    return True


async def client(session: aiohttp.ClientSession, base: str, ledger: Ledger, stop: float) -> None:
    rng = random.Random()
    while time.monotonic() < stop:
        choice = rng.random()
        if choice < 0.15:
            target = f"https://example.com/{rng.randrange(10**9)}"
            response = await timed(
                ledger, "create link", session.post(base + "/", data={"url": target})
            )
            if expect(ledger, "create link", response, 201):
                content_id = (await response.text()).strip().rsplit("/", 1)[-1]
                ledger.links[content_id] = target
                ledger.tokens[content_id] = response.headers["X-Delete-Token"]
        elif choice < 0.25:
            text = f"soak paste {rng.random()}\n" * rng.randrange(1, 200)
            response = await timed(
                ledger, "create paste", session.post(base + "/", data={"text": text})
            )
            if expect(ledger, "create paste", response, 201):
                content_id = (await response.text()).strip().rsplit("/", 1)[-1]
                ledger.blobs[content_id] = hashlib.sha256(text.encode()).hexdigest()
                ledger.tokens[content_id] = response.headers["X-Delete-Token"]
        elif choice < 0.32:
            data = rng.randbytes(rng.randrange(1, 2 * 1024 * 1024))
            form = aiohttp.FormData()
            form.add_field("file", data, filename="soak.bin")
            response = await timed(ledger, "upload", session.post(base + "/", data=form))
            if expect(ledger, "upload", response, 201):
                content_id = (await response.text()).strip().rsplit("/", 1)[-1]
                ledger.blobs[content_id] = hashlib.sha256(data).hexdigest()
                ledger.tokens[content_id] = response.headers["X-Delete-Token"]
        elif choice < 0.75 and ledger.links:
            content_id = rng.choice(list(ledger.links))
            response = await timed(
                ledger, "redirect", session.get(f"{base}/{content_id}", allow_redirects=False)
            )
            if expect(ledger, "redirect", response, 302):
                ledger.redirects[content_id] += 1
                if response.headers["Location"] != ledger.links[content_id]:
                    ledger.unexpected.append(f"redirect {content_id}: wrong Location")
        elif choice < 0.95 and ledger.blobs:
            content_id = rng.choice(list(ledger.blobs))
            sha = ledger.blobs[content_id]
            response = await timed(ledger, "raw", session.get(f"{base}/{content_id}/raw"))
            if response is not None and response.status == 404 and content_id in ledger.deleted:
                continue  # another client deleted it meanwhile
            if expect(ledger, "raw", response, 200):
                if hashlib.sha256(await response.read()).hexdigest() != sha:
                    ledger.unexpected.append(f"raw {content_id}: bytes differ")
        elif ledger.blobs:
            content_id = rng.choice(list(ledger.blobs))
            token = ledger.tokens[content_id]
            del ledger.blobs[content_id]
            ledger.deleted.add(content_id)
            response = await timed(
                ledger,
                "delete",
                session.delete(f"{base}/{content_id}", headers={"X-Delete-Token": token}),
            )
            if expect(ledger, "delete", response, 204):
                gone = await timed(ledger, "after delete", session.get(f"{base}/{content_id}/raw"))
                expect(ledger, "after delete", gone, 404)


async def run() -> int:
    folder = Path(tempfile.mkdtemp(prefix="refbin-soak-"))
    server = EmbeddedPostgres(folder)  # refbin's embedded server, run by the soak
    dsn = await server.start()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "REFBIN_DATABASE_URL": dsn,
        "REFBIN_DATABASE_DATA_DIR": str(folder / "data"),
        "REFBIN_SERVER_PORT": str(port),
        "REFBIN_SERVER_PUBLIC_URL": base,
        "REFBIN_LIMITS_RATE_CREATE": "0",
        "REFBIN_LIMITS_RATE_DELETE": "0",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "web", env=env, stdout=asyncio.subprocess.PIPE
    )
    ledger = Ledger()
    try:
        assert b"serving" in await asyncio.wait_for(proc.stdout.readline(), 30)
        stop = time.monotonic() + DURATION
        print(f"soak: {CLIENTS} clients for {DURATION:.0f} s against {base}", flush=True)

        async def sweeper() -> int:
            runs = 0
            while time.monotonic() < stop:
                await asyncio.sleep(20)
                sweep = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "bot",
                    "sweep",
                    env=env,
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.DEVNULL,
                )
                runs += await sweep.wait() == 0
            return runs

        async def restart_postgres() -> None:
            await asyncio.sleep(DURATION / 2)
            ledger.outage = True
            await server.stop()
            await asyncio.sleep(2)
            await server.start()
            await asyncio.sleep(3)  # the pools reconnect; 503s until then are expected
            ledger.outage = False

        async with aiohttp.ClientSession() as session:
            results = await asyncio.gather(
                sweeper(),
                restart_postgres(),
                *(client(session, base, ledger, stop) for _ in range(CLIENTS)),
            )
            sweeps = results[0]
            verified = 0
            for content_id, sha in list(ledger.blobs.items()):
                response = await session.get(f"{base}/{content_id}/raw")
                if (
                    response.status != 200
                    or hashlib.sha256(await response.read()).hexdigest() != sha
                ):
                    ledger.unexpected.append(f"final check {content_id}: HTTP {response.status}")
                verified += 1
        proc.send_signal(signal.SIGTERM)  # a clean stop flushes the last visit counts
        await proc.wait()
        conn = await asyncpg.connect(dsn)
        try:
            rows = await conn.fetch(
                "SELECT content_id, views FROM refs WHERE content_id = ANY($1::text[])",
                list(ledger.links),
            )
        finally:
            await conn.close()
        views = {row["content_id"]: row["views"] for row in rows}
        mismatched = [i for i, n in ledger.redirects.items() if views.get(i) != n]
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await server.stop()
        shutil.rmtree(folder, ignore_errors=True)

    total = sum(ledger.statuses.values())
    print(
        f"\nrequests: {total} in {DURATION:.0f} s ({total / DURATION:.0f}/s), sweeps run: {sweeps}"
    )
    for op, samples in sorted(ledger.latencies.items()):
        samples.sort()
        p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
        p50 = statistics.median(samples)
        print(f"  {op:13} {len(samples):6}  p50 {p50 * 1000:7.1f} ms  p99 {p99 * 1000:7.1f} ms")
    print("statuses:", dict(sorted(ledger.statuses.items())))
    print(f"503s while PostgreSQL restarted (expected): {ledger.outage_503s}")
    redirects = sum(ledger.redirects.values())
    print(
        f"visit counts checked: {len(ledger.redirects)} links, {redirects} redirects, "
        f"mismatched: {len(mismatched)}"
    )
    print(f"stored items verified by sha256: {verified}")
    print(f"unexpected errors: {len(ledger.unexpected)}")
    for line in ledger.unexpected[:20]:
        print("  ", line)
    return 1 if ledger.unexpected or mismatched else 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(run()))
