"""An item's stats as HTML drawn on the server: visits per day as an SVG bar chart, the same
numbers as a table, the totals and the top referring sites. Pure functions of the Stats model.

The chart needs no script and no style of its own: it is drawn in `currentColor`, so it takes
the colour of the text around it in a light page and a dark one alike, and carries classes
(`visits-chart`, `bar`, `axis`, `label`) for a stylesheet to refine. Nothing here is an inline
style, which the pages' Content-Security-Policy refuses. For screen readers and text browsers
the SVG has a <title> that says what it shows, and a table with every day beside it.

Every fragment is a Markup template filled with `format`, which escapes what it is given: a
referring host is whatever a visitor's browser sent.
"""

from __future__ import annotations

from datetime import date, timedelta

from markupsafe import Markup

from bot.models import Stats

WIDTH, HEIGHT = 600, 200
LEFT, RIGHT, TOP, BOTTOM = 36, 8, 12, 24  # room for the labels
BAR_SHARE = 0.8  # of each day's slot; the rest is the gap between bars
NO_REFERRER = "Direct, or not said"
NO_VISITS = Markup('<tr><td colspan="2">No visits yet.</td></tr>')

_SVG = Markup(
    '<svg xmlns="http://www.w3.org/2000/svg" class="visits-chart" viewBox="0 0 {width} {height}"'
    ' role="img" aria-labelledby="{title_id}"><title id="{title_id}">{summary}</title>'
    '<g class="bars" fill="currentColor" fill-opacity="0.75">{bars}</g>'
    '<line class="axis" x1="{left}" y1="{base}" x2="{right}" y2="{base}" stroke="currentColor"'
    ' stroke-opacity="0.5"/>'
    '<g class="label" fill="currentColor" font-size="11" font-family="sans-serif">'
    '<text x="{label_x}" y="{peak_y}" text-anchor="end">{peak}</text>'
    '<text x="{label_x}" y="{base}" text-anchor="end">0</text>'
    '<text x="{left}" y="{date_y}">{first}</text>'
    '<text x="{right}" y="{date_y}" text-anchor="end">{last}</text>{empty}</g></svg>'
)
_BAR = Markup(
    '<rect class="bar" x="{x}" y="{y}" width="{width}" height="{height}" data-day="{day}"'
    ' data-visits="{count}"><title>{day}: {visits}</title></rect>'
)
_EMPTY = Markup('<text x="{x}" y="{y}" text-anchor="middle">No visits yet</text>')
_TABLE = Markup(
    '<table class="{css}"><caption>{caption}</caption><thead><tr><th scope="col">{key}</th>'
    '<th scope="col">Visits</th></tr></thead><tbody>{rows}</tbody></table>'
)
_DAY_ROW = Markup(
    '<tr><th scope="row"><time datetime="{day}">{label}</time></th><td>{count}</td></tr>'
)
_ROW = Markup('<tr><th scope="row">{key}</th><td>{count}</td></tr>')
_SECTION = Markup(
    '<section class="stats"><dl class="stats-totals"><dt>Views in all</dt><dd>{views}</dd>'
    "<dt>Visits, last {days} days</dt><dd>{in_period}</dd>"
    "<dt>Days with visits</dt><dd>{active}</dd></dl>"
    '<figure class="visits">{chart}<figcaption>Visits per day, last {days} days</figcaption>'
    "<details><summary>As a table</summary>{table}</details></figure>{referrers}</section>"
)


def daily_counts(stats: Stats, *, today: date, days: int) -> list[tuple[date, int]]:
    """Every day of the `days` ending `today`, oldest first, with its visits (0 for none)."""
    counts = dict(stats.per_day)
    first = today - timedelta(days=max(1, days) - 1)
    return [
        (first + timedelta(n), counts.get(first + timedelta(n), 0)) for n in range(max(1, days))
    ]


def visits_chart(stats: Stats, *, today: date, days: int = 30) -> Markup:
    """Visits per day as an SVG bar chart, each bar's height proportional to its day's visits
    (the busiest day's reaching the top)."""
    counts = daily_counts(stats, today=today, days=days)
    days = len(counts)
    total = sum(count for _, count in counts)
    peak_day, peak = max(counts, key=lambda pair: pair[1])
    first, last = counts[0][0], counts[-1][0]
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_width / days
    base = TOP + plot_height
    bars = []
    for n, (day, count) in enumerate(counts):
        if count:
            height = plot_height * count / peak
            bars.append(
                _BAR.format(
                    x=f"{LEFT + n * slot + slot * (1 - BAR_SHARE) / 2:.2f}",
                    y=f"{base - height:.2f}",
                    width=f"{slot * BAR_SHARE:.2f}",
                    height=f"{height:.2f}",
                    day=day.isoformat(),
                    count=count,
                    visits=_visits(count),
                )
            )
    if total:
        summary = (
            f"Visits per day to {stats.content_id}, {first} to {last}: {total:,} in all, "
            f"most on {peak_day} ({peak:,})."
        )
    else:
        summary = f"Visits per day to {stats.content_id}, {first} to {last}: none yet."
    empty = "" if total else _EMPTY.format(x=LEFT + plot_width / 2, y=TOP + plot_height / 2)
    return _SVG.format(
        width=WIDTH,
        height=HEIGHT,
        title_id=f"visits-{stats.content_id}",
        summary=summary,
        bars=Markup("").join(bars),
        left=LEFT,
        right=WIDTH - RIGHT,
        base=base,
        label_x=LEFT - 4,
        peak_y=TOP + 4,
        peak=f"{peak:,}",
        date_y=HEIGHT - 6,
        first=f"{first:%b} {first.day}",
        last=f"{last:%b} {last.day}",
        empty=empty,
    )


def visits_table(stats: Stats, *, today: date, days: int = 30) -> Markup:
    """The chart's numbers as a table: every day with visits, oldest first."""
    rows = [
        _DAY_ROW.format(day=day.isoformat(), label=f"{day:%a %b} {day.day}", count=f"{count:,}")
        for day, count in daily_counts(stats, today=today, days=days)
        if count
    ]
    return _TABLE.format(
        css="visits-table",
        caption=f"Visits per day, last {days} days",
        key="Day",
        rows=Markup("").join(rows) or NO_VISITS,
    )


def referrers_table(stats: Stats) -> Markup:
    """The top referring sites, most visits first ('' is a visit that named none)."""
    rows = [
        _ROW.format(key=host or NO_REFERRER, count=f"{count:,}") for host, count in stats.referrers
    ]
    return _TABLE.format(
        css="referrers",
        caption="Where visitors came from",
        key="Site",
        rows=Markup("").join(rows) or NO_VISITS,
    )


def stats_section(stats: Stats, *, today: date, days: int = 30) -> Markup:
    """What an item's stats page shows: totals, the chart with its table, the referrers."""
    counts = daily_counts(stats, today=today, days=days)
    return _SECTION.format(
        views=f"{stats.views:,}",
        days=days,
        in_period=f"{sum(count for _, count in counts):,}",
        active=f"{sum(1 for _, count in counts if count):,}",
        chart=visits_chart(stats, today=today, days=days),
        table=visits_table(stats, today=today, days=days),
        referrers=referrers_table(stats),
    )


def _visits(count: int) -> str:
    return f"{count:,} visit" if count == 1 else f"{count:,} visits"
