"""Budget lines and which of them apply to a request (docs/design.md §3, §4), as pure functions over an
in-memory book, so the hot path never asks the database.

A request is charged to its key, the key's owner, the org and each charged group (the key's group and
its ancestors); its lines are, in the order they are checked: the key's, the owner's, the owner's
per-member line in each charged group, each charged group's, the org's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from covey.budgets.periods import ADJECTIVE, period_key, zone
from covey.kit.money import format_usd

DEFAULT_THRESHOLDS = (50, 80, 100)
_NOUNS = {"key": "API key", "user": "user", "group": "group", "member": "group", "org": "organization"}


@dataclass(frozen=True, slots=True)
class Line:
    id: str
    org_id: str
    owner_type: str  # key | user | group | member | org
    owner_id: str  # for `member`, the group whose members each have this budget
    amount: int  # nano-dollars, > 0
    period: str = "month"
    enforcement: str = "hard"
    thresholds: tuple[int, ...] = DEFAULT_THRESHOLDS
    name: str = ""  # the owner's name (a user's email), for messages and alerts

    def scope(self, user_id: str) -> str:
        """The spend counter this line reads, without its period."""
        if self.owner_type == "member":
            return member_scope(self.owner_id, user_id)
        return f"{self.owner_type}:{self.owner_id}"

    @property
    def label(self) -> str:
        """`group "Backend Engineers"`."""
        return f'{_NOUNS[self.owner_type]} "{self.name}"'

    @property
    def hard(self) -> bool:
        return self.enforcement == "hard"

    def refusal(self) -> str:
        kind = "per-member budget" if self.owner_type == "member" else "budget"
        return f"Reached {ADJECTIVE[self.period]} {kind} of {self.label} ({format_usd(self.amount)})"


def member_scope(group_id: str, user_id: str) -> str:
    return f"member:{group_id}:{user_id}"


def counter_name(scope: str, period_key_: str) -> str:
    return f"{scope}@{period_key_}"


@dataclass(frozen=True)
class Book:
    """Every line of every org, by owner, and each org's timezone; rebuilt when the control plane moves."""

    revision: int = -1
    lines: Mapping[tuple[str, str], tuple[Line, ...]] = field(default_factory=dict)
    timezones: Mapping[str, str] = field(default_factory=dict)

    def of(self, owner_type: str, owner_id: str) -> tuple[Line, ...]:
        return self.lines.get((owner_type, owner_id), ())


def make_book(lines: Iterable[Line], *, timezones: Mapping[str, str], revision: int) -> Book:
    by_owner: dict[tuple[str, str], list[Line]] = {}
    for line in lines:
        if line.amount > 0:  # 0 = unlimited: no line at all
            by_owner.setdefault((line.owner_type, line.owner_id), []).append(line)
    return Book(revision=revision, lines={k: tuple(v) for k, v in by_owner.items()}, timezones=dict(timezones))


def owned(
    book: Book, *, org_id: str, key_id: str, user_id: str, charged_groups: Sequence[str]
) -> tuple[tuple[Line, ...], ...]:
    """The lines that apply to a request, owner by owner, in the order they are checked. A change to an
    owner's lines swaps its tuple whole, so two of these are equal exactly when the lines are."""
    return (
        book.of("key", key_id),
        book.of("user", user_id),
        *(book.of("member", g) for g in charged_groups),
        *(book.of("group", g) for g in charged_groups),
        book.of("org", org_id),
    )


def applicable(book: Book, *, org_id: str, key_id: str, user_id: str, charged_groups: Sequence[str]) -> list[Line]:
    """Every line that applies to a request, in the order they are checked."""
    return [
        line
        for lines in owned(book, org_id=org_id, key_id=key_id, user_id=user_id, charged_groups=charged_groups)
        for line in lines
    ]


def charged_scopes(*, org_id: str, key_id: str, user_id: str, charged_groups: Sequence[str]) -> list[str]:
    """Every counter a request adds to: spend is kept per key, user, group, member-in-group and org
    whether or not a line watches it, so month-to-date spend can always be shown."""
    return [
        f"key:{key_id}",
        f"user:{user_id}",
        *(member_scope(g, user_id) for g in charged_groups),
        *(f"group:{g}" for g in charged_groups),
        f"org:{org_id}",
    ]


@dataclass(frozen=True, slots=True)
class Watched:
    line: Line
    counter: str
    period_key: str


@dataclass(frozen=True)
class Plan:
    """What one request reserves on and charges to, fixed when it starts (so a request that ends in the
    next period is charged to the one it started in)."""

    lines: tuple[Watched, ...]  # every applicable line, hard and soft, in check order
    counters: tuple[str, ...]  # every counter the request is charged to, each once
    checks: tuple[Watched, ...] = ()  # the hard lines among them: what a reservation holds room on


def plan(book: Book, *, org_id: str, key_id: str, user_id: str, charged_groups: Sequence[str], at: datetime) -> Plan:
    tz = zone(book.timezones.get(org_id))
    month = period_key("month", at, tz)
    keys = {"month": month}  # week and day only when a line asks for them
    watched = []
    for line in applicable(book, org_id=org_id, key_id=key_id, user_id=user_id, charged_groups=charged_groups):
        key = keys.get(line.period)
        if key is None:
            key = keys[line.period] = period_key(line.period, at, tz)
        watched.append(Watched(line=line, counter=counter_name(line.scope(user_id), key), period_key=key))
    scopes = charged_scopes(org_id=org_id, key_id=key_id, user_id=user_id, charged_groups=charged_groups)
    counters = dict.fromkeys([*(counter_name(s, month) for s in scopes), *(w.counter for w in watched)])
    return Plan(lines=tuple(watched), counters=tuple(counters), checks=tuple(w for w in watched if w.line.hard))


def same_periods(start: datetime, end: datetime, tz: ZoneInfo) -> bool:
    """Whether two instants fall in the same day (so the same week and month) of the org's calendar."""
    return period_key("day", start, tz) == period_key("day", end, tz)


def room_to_hold(
    limits: Sequence[int], spent: Sequence[int], reserved: Sequence[int], estimate: int, least: int
) -> tuple[int | None, int]:
    """What a request may hold on every hard line at once: `estimate` where each line has that much room
    left (its amount less its spend and what others hold), else the least room any line has, when that
    is at least `least`. Refused — (index of the first line with less than `least` left, 0) — otherwise."""
    least = min(least, estimate)
    rooms = [limit - done - held for limit, done, held in zip(limits, spent, reserved, strict=True)]
    for i, room in enumerate(rooms):
        if room < least:
            return i, 0
    return None, min([estimate, *rooms])


def crossed(line: Line, *, before: int, after: int) -> list[int]:
    """The thresholds (percent) this charge crossed: reached now, not reached before."""
    return [t for t in line.thresholds if before * 100 < t * line.amount <= after * 100]
