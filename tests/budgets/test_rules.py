"""The pure budget rules: which lines apply, in which order, which period an instant falls in."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from covey.budgets.lines import Line, crossed, make_book, plan, room_to_hold
from covey.budgets.periods import bounds, period_key, zone

ORG = "org"


def line(owner_type: str, owner_id: str, amount: int = 100, **kw: Any) -> Line:
    return Line(
        id=f"{owner_type}:{owner_id}:{kw.get('period', 'month')}",
        org_id=ORG,
        owner_type=owner_type,
        owner_id=owner_id,
        amount=amount,
        name=owner_id,
        **kw,
    )


BOOK = make_book(
    [
        line("org", ORG),
        line("group", "top"),
        line("group", "mid", enforcement="soft"),
        line("member", "top"),
        line("member", "leaf", period="day"),
        line("user", "u1"),
        line("key", "k1"),
        line("key", "k2", amount=0),  # 0 = unlimited: no line
        line("group", "elsewhere"),
    ],
    timezones={ORG: "America/New_York"},
    revision=1,
)
AT = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def test_lines_apply_in_check_order_key_user_members_groups_org() -> None:
    p = plan(BOOK, org_id=ORG, key_id="k1", user_id="u1", charged_groups=["leaf", "mid", "top"], at=AT)
    assert [(w.line.owner_type, w.line.owner_id) for w in p.lines] == [
        ("key", "k1"),
        ("user", "u1"),
        ("member", "leaf"),
        ("member", "top"),
        ("group", "mid"),
        ("group", "top"),
        ("org", ORG),
    ]
    assert [w.counter for w in p.lines][2:4] == ["member:leaf:u1@2026-11-27", "member:top:u1@2026-11"]
    # soft lines are watched for alerts but never checked
    assert ("group", "mid") not in [(w.line.owner_type, w.line.owner_id) for w in p.checks]


def test_every_request_is_charged_to_each_monthly_counter_once() -> None:
    p = plan(BOOK, org_id=ORG, key_id="k2", user_id="u2", charged_groups=["mid", "top"], at=AT)
    assert p.counters == (
        "key:k2@2026-11",
        "user:u2@2026-11",
        "member:mid:u2@2026-11",
        "member:top:u2@2026-11",
        "group:mid@2026-11",
        "group:top@2026-11",
        f"org:{ORG}@2026-11",
    )
    assert [w.line.owner_type for w in p.lines] == ["member", "group", "group", "org"]


def test_a_personal_key_charges_no_group() -> None:
    p = plan(BOOK, org_id=ORG, key_id="k9", user_id="u9", charged_groups=[], at=AT)
    assert p.counters == ("key:k9@2026-11", "user:u9@2026-11", f"org:{ORG}@2026-11")
    assert [w.line.owner_type for w in p.lines] == ["org"]


def test_the_month_is_the_orgs_month() -> None:
    # 03:00 UTC on December 1st is still November 30th in New York.
    ny, tokyo = zone("America/New_York"), zone("Asia/Tokyo")
    at = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    assert period_key("month", at, ny) == "2026-11"
    assert period_key("month", at, zone("UTC")) == "2026-12"
    assert period_key("day", datetime(2026, 11, 30, 16, tzinfo=UTC), tokyo) == "2026-12-01"
    assert period_key("week", datetime(2027, 1, 1, tzinfo=UTC), zone("UTC")) == "2026-W53"
    start, end = bounds("month", at, ny)
    assert (start, end) == (datetime(2026, 11, 1, 4, tzinfo=UTC), datetime(2026, 12, 1, 5, tzinfo=UTC))
    assert bounds("week", datetime(2026, 11, 27, tzinfo=UTC), zone("UTC"))[0] == datetime(2026, 11, 23, tzinfo=UTC)
    assert zone("Not/AZone") == zone("UTC")


def test_room_to_hold() -> None:
    assert room_to_hold([100, 100], [0, 50], [0, 30], 20, 20) == (None, 20)
    assert room_to_hold([100, 100], [0, 50], [0, 30], 21, 21) == (1, 0)
    assert room_to_hold([10, 100], [0, 0], [0, 0], 11, 11) == (0, 0)
    # Given a least, the room the tightest line has left, down to it.
    assert room_to_hold([100, 100], [0, 50], [0, 30], 50, 5) == (None, 20)
    assert room_to_hold([100, 30], [0, 0], [0, 0], 50, 5) == (None, 30)
    assert room_to_hold([100, 100], [0, 50], [0, 30], 50, 21) == (1, 0)
    assert room_to_hold([100, 100], [0, 100], [0, 30], 50, 1) == (1, 0)  # overspent: no room at all


def test_thresholds_are_crossed_once() -> None:
    ln = line("group", "g", amount=1000)
    assert crossed(ln, before=0, after=499) == []
    assert crossed(ln, before=499, after=800) == [50, 80]
    assert crossed(ln, before=800, after=900) == []
    assert crossed(ln, before=900, after=1000) == [100]


def test_refusal_names_the_line() -> None:
    ln = Line(id="x", org_id=ORG, owner_type="group", owner_id="g", amount=500_000_000_000, name="Backend Engineers")
    assert ln.refusal() == 'Reached monthly budget of group "Backend Engineers" ($500.00)'
    per = Line(
        id="y",
        org_id=ORG,
        owner_type="member",
        owner_id="g",
        amount=25_000_000_000,
        period="day",
        name="Backend Engineers",
    )
    assert per.refusal() == 'Reached daily per-member budget of group "Backend Engineers" ($25.00)'
