"""The stats drawn on the server (bot/web/charts.py): well-formed SVG, bars in proportion, an
empty chart that still says what it is, escaped referrers, and nothing the pages' CSP refuses."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, timedelta
from html.parser import HTMLParser

import pytest

from bot.models import Stats
from bot.web.charts import (
    HEIGHT,
    WIDTH,
    daily_counts,
    referrers_table,
    stats_section,
    visits_chart,
    visits_table,
)

SVG = "{http://www.w3.org/2000/svg}"
TODAY = date(2026, 3, 10)


def stats(per_day: dict[int, int], referrers: tuple[tuple[str, int], ...] = ()) -> Stats:
    """Visits `days_ago -> count`, oldest first as the service gives them."""
    days = sorted(per_day, reverse=True)
    return Stats(
        content_id="aB3dE9x",
        views=sum(per_day.values()) + 7,
        per_day=tuple((TODAY - timedelta(days=ago), per_day[ago]) for ago in days),
        referrers=referrers,
    )


def bars(svg: ET.Element) -> dict[str, float]:
    return {
        rect.get("data-day", ""): float(rect.get("height", "nan"))
        for rect in svg.iter(f"{SVG}rect")
    }


def test_the_chart_is_well_formed_svg_with_a_title_that_says_what_it_shows() -> None:
    svg = ET.fromstring(str(visits_chart(stats({0: 3, 2: 6, 29: 1}), today=TODAY)))
    assert svg.tag == f"{SVG}svg" and svg.get("viewBox") == f"0 0 {WIDTH} {HEIGHT}"
    assert svg.get("role") == "img"
    title = svg.find(f"{SVG}title")
    assert title is not None and svg.get("aria-labelledby") == title.get("id")
    assert title.text == (
        "Visits per day to aB3dE9x, 2026-02-09 to 2026-03-10: 10 in all, most on 2026-03-08 (6)."
    )
    # Each bar says its day and count to a pointer or a screen reader.
    tips = [rect.findtext(f"{SVG}title") for rect in svg.iter(f"{SVG}rect")]
    assert tips == ["2026-02-09: 1 visit", "2026-03-08: 6 visits", "2026-03-10: 3 visits"]


def test_bars_are_proportional_to_the_visits_and_in_day_order() -> None:
    svg = ET.fromstring(str(visits_chart(stats({1: 2, 3: 8, 5: 4, 6: 1}), today=TODAY, days=7)))
    heights = bars(svg)
    assert list(heights) == ["2026-03-04", "2026-03-05", "2026-03-07", "2026-03-09"]
    tallest = heights["2026-03-07"]
    for day, count in (("2026-03-04", 1), ("2026-03-05", 4), ("2026-03-09", 2)):
        assert heights[day] / tallest == pytest.approx(count / 8, abs=0.01)
    xs = [float(rect.get("x", "nan")) for rect in svg.iter(f"{SVG}rect")]
    assert xs == sorted(xs) and all(0 <= x < WIDTH for x in xs)
    bottoms = {
        round(float(rect.get("y", "nan")) + float(rect.get("height", "nan")), 1)
        for rect in svg.iter(f"{SVG}rect")
    }
    assert len(bottoms) == 1  # every bar stands on the axis


def test_an_empty_chart_has_no_bars_and_says_so() -> None:
    svg = ET.fromstring(str(visits_chart(stats({}), today=TODAY)))
    assert bars(svg) == {}
    title = svg.find(f"{SVG}title")
    assert title is not None and (title.text or "").endswith("none yet.")
    assert "No visits yet" in [text.text for text in svg.iter(f"{SVG}text")]
    assert "No visits yet." in str(visits_table(stats({}), today=TODAY))


def test_visits_older_than_the_period_are_left_out() -> None:
    counts = daily_counts(stats({0: 1, 7: 5, 40: 9}), today=TODAY, days=7)
    assert len(counts) == 7 and counts[-1] == (TODAY, 1)
    assert sum(count for _, count in counts) == 1


def test_the_chart_follows_the_text_colour_and_has_no_inline_style() -> None:
    html = str(stats_section(stats({0: 2}, (("a.example", 2),)), today=TODAY))
    assert "currentColor" in html
    assert "style=" not in html and "<style" not in html and "<script" not in html


def test_referrers_are_escaped_and_the_unnamed_one_is_named() -> None:
    table = str(referrers_table(stats({0: 3}, (('<img src=x onerror="1">', 2), ("", 1)))))
    assert "<img" not in table and "&lt;img src=x onerror=&#34;1&#34;&gt;" in table
    assert "Direct, or not said" in table


class Cells(HTMLParser):
    """The text of each table cell, by table class."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[str]] = {}
        self.current: list[str] | None = None
        self.in_cell = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.current = self.tables.setdefault(dict(attrs).get("class") or "", [])
        elif tag in ("td", "th") and self.current is not None:
            self.in_cell = True
            self.current.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th"):
            self.in_cell = False

    def handle_data(self, data: str) -> None:
        if self.in_cell and self.current is not None:
            self.current[-1] += data


def test_the_section_has_the_totals_the_table_fallback_and_the_referrers() -> None:
    section = str(stats_section(stats({0: 1200, 3: 5}, (("chat.example", 1205),)), today=TODAY))
    assert "<dd>1,212</dd>" in section  # views in all
    assert "<dd>1,205</dd>" in section and "<dd>2</dd>" in section
    cells = Cells()
    cells.feed(section)
    assert cells.tables["visits-table"] == [
        "Day",
        "Visits",
        "Sat Mar 7",
        "5",
        "Tue Mar 10",
        "1,200",
    ]
    assert cells.tables["referrers"] == ["Site", "Visits", "chat.example", "1,205"]
