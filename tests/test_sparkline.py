from __future__ import annotations

from alb502athena.sparkline import sparkline


def test_heights_blanks_and_scale() -> None:
    series = [("2026-11-20T09:00", 1), ("2026-11-20T09:02", 8), ("2026-11-20T09:03", 4)]
    assert sparkline(series, "2026-11-20T09:00", "2026-11-20T09:03", width=4) == "▁ █▄"


def test_minutes_are_bucketed_into_the_width() -> None:
    series = [(f"2026-11-20T09:{m:02d}", 1) for m in range(60)]
    line = sparkline(series, "2026-11-20T09:00", "2026-11-20T09:59", width=12)
    assert line == "█" * 12  # five minutes a column, all equal


def test_outside_the_range_and_empty() -> None:
    assert sparkline([("2026-11-20T08:59", 5)], "2026-11-20T09:00", "2026-11-20T09:09", width=10) == " " * 10
    assert sparkline([], "2026-11-20T09:00", "2026-11-20T09:00") == " "
