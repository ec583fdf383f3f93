from __future__ import annotations

from datetime import datetime, timedelta

from alb502athena.sparkline import NICE_MINUTES, draw, timeline


def sparkline(per_minute: list[tuple[str, int]], start: str, end: str, width: int = 24) -> str:
    # One row scaled to its own peak: how output.py draws it, less the shared scale.
    return draw(timeline(start, end, width).values(per_minute))


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


def test_a_steady_rate_draws_a_flat_line() -> None:
    # 60 minutes in 24 columns used to be 2.5 minutes a column: 2 and 3 minutes in turn, a sawtooth.
    series = [(f"2026-11-20T09:{m:02d}", 7) for m in range(60)]
    tl = timeline("2026-11-20T09:00", "2026-11-20T09:59", 24)
    assert (tl.bucket, tl.columns, tl.label) == (3, 20, "3 min")
    assert sparkline(series, "2026-11-20T09:00", "2026-11-20T09:59", 24) == "█" * 20
    # A span that is no whole number of columns: the short last column draws the same rate as high.
    series.append(("2026-11-20T10:00", 7))
    line = sparkline(series, "2026-11-20T09:00", "2026-11-20T10:00", 24)
    assert len(set(line)) == 1 and len(line) <= 24


def test_columns_are_whole_round_minutes_and_fit_the_width() -> None:
    for minutes in (1, 7, 59, 60, 61, 90, 119, 600, 1441, 10 * 1440):
        end = datetime(2026, 11, 20) + timedelta(minutes=minutes - 1)
        for width in (12, 24):
            tl = timeline("2026-11-20T00:00", end.strftime("%Y-%m-%dT%H:%M"), width)
            assert tl.columns <= width and (tl.bucket in NICE_MINUTES or tl.bucket % 1440 == 0)
    assert timeline("2026-11-20T00:00", "2026-11-21T23:59", 24).label == "2 h"
    assert timeline("2026-11-01T00:00", "2026-11-30T23:59", 24).label == "2 days"
    assert timeline("2026-11-20T00:00", "2026-11-29T23:59", 24).label == "12 h"


def test_rows_share_one_scale() -> None:
    tl = timeline("2026-11-20T09:00", "2026-11-20T09:59", 24)
    busy = tl.values([(f"2026-11-20T09:{m:02d}", 8) for m in range(60)])
    quiet = tl.values([(f"2026-11-20T09:{m:02d}", 2) for m in range(60)])
    peak = max(busy + quiet)
    assert draw(busy, peak) == "█" * 20
    assert draw(quiet, peak) == "▂" * 20  # a quarter of the rate, a quarter of the height
    assert draw(quiet) == "█" * 20  # on its own scale it would look as busy


def test_minutes_that_are_no_time_are_counted_not_drawn() -> None:
    from alb502athena.sparkline import minute_of, untimed

    series = [
        ("0001-01-01T00:00", 5),  # a time, but none a window may hold
        ("2026-11-20T09:00", 2),
        ("2026-13-45T99:99", 3),
        ("2026-11-20T09:01", 2),
        ("<b>\x1b]0;", 1),
    ]
    assert sparkline(series, "2026-11-20T09:00", "2026-11-20T09:01", width=2) == "██"
    assert untimed(series) == (9, "0001-01-01T00:00")
    assert (
        minute_of("2026-11-20T09:0x") is None
        and minute_of("") is None
        and minute_of("٢٠٢٦-11-20T09:00") is None
    )
