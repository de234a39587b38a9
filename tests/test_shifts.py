"""Who is on shift to answer calls: weekdays, times in the roster's timezone, shifts past
midnight, "24:00", overrides, DST, and when the line is next staffed."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hotline.routing.shifts import next_staffed, on_shift

CHICAGO = "America/Chicago"
ZONE = ZoneInfo(CHICAGO)
DAY = {"volunteer": "ana", "days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00",
       "end": "17:00"}
NIGHT = {"volunteer": "luis", "days": ["fri"], "start": "21:00", "end": "01:00"}
ALWAYS = {"volunteer": "rosa", "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
          "start": "00:00", "end": "24:00"}


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=ZONE)


def test_a_day_shift_covers_its_hours_on_its_days_only() -> None:
    assert on_shift([DAY], [], CHICAGO, local(2026, 12, 1, 9, 0)) == ["ana"]  # Tuesday
    assert on_shift([DAY], [], CHICAGO, local(2026, 12, 1, 16, 59)) == ["ana"]
    assert on_shift([DAY], [], CHICAGO, local(2026, 12, 1, 17, 0)) == []  # the end is out
    assert on_shift([DAY], [], CHICAGO, local(2026, 12, 5, 10, 0)) == []  # Saturday


def test_a_shift_ending_before_it_starts_runs_past_midnight_and_belongs_to_its_start_day():
    assert on_shift([NIGHT], [], CHICAGO, local(2026, 12, 4, 23, 30)) == ["luis"]  # Friday
    assert on_shift([NIGHT], [], CHICAGO, local(2026, 12, 5, 0, 30)) == ["luis"]  # Sat 00:30
    assert on_shift([NIGHT], [], CHICAGO, local(2026, 12, 6, 0, 30)) == []  # Sunday 00:30


def test_24_00_is_midnight_and_times_are_the_roster_s_wall_clock_across_dst() -> None:
    assert on_shift([ALWAYS], [], CHICAGO, local(2026, 12, 1, 23, 59)) == ["rosa"]
    # 2026-03-08: Chicago springs forward; 09:00 local is 14:00 UTC that day, 15:00 before
    assert on_shift([DAY], [], CHICAGO, datetime(2026, 3, 9, 14, 0, tzinfo=UTC)) == ["ana"]
    assert on_shift([DAY], [], CHICAGO, datetime(2026, 3, 6, 14, 0, tzinfo=UTC)) == []


def test_an_override_puts_someone_on_shift_first() -> None:
    override = {"responder": "kim", "start": "2026-12-24T18:00", "end": "2026-12-25T09:00"}
    at = local(2026, 12, 24, 20, 0)  # a Thursday evening: nobody's shift
    assert on_shift([DAY, ALWAYS], [override], CHICAGO, at) == ["kim", "rosa"]
    assert on_shift([DAY], [override], CHICAGO, local(2026, 12, 25, 9, 0)) == ["ana"]


def test_next_staffed_is_the_next_start_in_the_roster_s_time() -> None:
    assert next_staffed([DAY, NIGHT], [], CHICAGO, local(2026, 12, 1, 3, 0)) == \
        local(2026, 12, 1, 9, 0)
    assert next_staffed([DAY], [], CHICAGO, local(2026, 12, 4, 18, 0)) == \
        local(2026, 12, 7, 9, 0)  # Friday evening: Monday morning
    assert next_staffed([], [], CHICAGO, local(2026, 12, 4, 18, 0)) is None
