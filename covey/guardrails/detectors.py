"""What guardrails look for, as pure functions over text: personal data (emails, phone numbers,
national ids), secrets (provider API keys and tokens, private keys, connection strings with
credentials) and financial data (card numbers that pass the Luhn check, IBANs that pass ISO 7064's
mod-97). Each finding has a category, a type (its placeholder) and where it is.

Patterns are anchored on what makes each kind recognizable (a provider's prefix, a checksum, a
format's separators) so that ordinary numbers, dates, versions and ids pass untouched; the corpus in
`tests/guardrails/` measures both sides.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

PII, SECRETS, FINANCIAL = "pii", "secrets", "financial"
CATEGORIES_ALL = frozenset((PII, SECRETS, FINANCIAL))


@dataclass(frozen=True, slots=True)
class Finding:
    category: str
    type: str  # EMAIL, PHONE, …: the placeholder is `[EMAIL REDACTED]`
    start: int
    end: int

    @property
    def placeholder(self) -> str:
        return f"[{self.type.replace('_', ' ')} REDACTED]"


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card(text: str) -> bool:
    digits = re.sub(r"[ -]", "", text)
    if not 13 <= len(digits) <= 19 or len(set(digits)) == 1:
        return False
    # Visa, Mastercard, American Express, Discover, JCB, Diners, UnionPay, Maestro.
    if not re.match(r"4|5[1-5]|2[2-7]|3[47]|3[0689]|6|35", digits):
        return False
    return _luhn(digits)


def _iban(text: str) -> bool:
    compact = text.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34:
        return False
    moved = compact[4:] + compact[:4]
    number = "".join(str(int(c, 36)) for c in moved)
    return int(number) % 97 == 1


def _ssn(text: str) -> bool:
    area, group, serial = text.split("-")
    return area not in ("000", "666") and not area.startswith("9") and group != "00" and serial != "0000"


def _phone(text: str) -> bool:
    digits = re.sub(r"\D", "", text)
    return 8 <= len(digits) <= 15


@dataclass(frozen=True, slots=True)
class Detector:
    category: str
    type: str
    pattern: re.Pattern[str]
    valid: Callable[[str], bool] | None = None
    # A cheap test a text must pass before the pattern runs (most text has no `@`, no `://`, …).
    trigger: Callable[[str], bool] | None = None


_TWO_DIGITS = re.compile(r"\d\d")
_KEY_PREFIXES = (
    "sk-",
    "AKIA",
    "ASIA",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "glpat-",
    "xox",
    "sk_",
    "rk_",
    "AIza",
    "hf_",
    "cvy_",
    "eyJ",
)


def _digits(text: str) -> bool:
    return _TWO_DIGITS.search(text) is not None


def _key_prefix(text: str) -> bool:
    return any(p in text for p in _KEY_PREFIXES)


_B = r"(?<![A-Za-z0-9_])"  # not inside a longer word
_E = r"(?![A-Za-z0-9_])"

DETECTORS = (
    # Secrets first: a connection string holds an email-like `user:password@host`.
    Detector(
        SECRETS,
        "PRIVATE_KEY",
        re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----[\s\S]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----"),
        trigger=lambda text: "-----BEGIN" in text,
    ),
    Detector(
        SECRETS,
        "CONNECTION_STRING",
        re.compile(
            r"\b(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|rediss?|amqps?|mssql|sqlserver|oracle)"
            r"://[^\s:/@]+:[^\s@/]+@[^\s'\"<>]+"
        ),
        trigger=lambda text: "://" in text,
    ),
    Detector(
        SECRETS,
        "API_KEY",
        re.compile(
            _B + r"(?:sk-ant-[A-Za-z0-9_-]{20,}"  # Anthropic
            r"|sk-(?:proj-|svcacct-)?[A-Za-z0-9_-]{20,}"  # OpenAI
            r"|(?:AKIA|ASIA)[0-9A-Z]{16}"  # AWS access key id
            r"|gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,}"  # GitHub
            r"|glpat-[A-Za-z0-9_-]{20,}"  # GitLab
            r"|xox[abprs]-[A-Za-z0-9-]{10,}"  # Slack
            r"|(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}"  # Stripe
            r"|AIza[0-9A-Za-z_-]{35}"  # Google
            r"|hf_[A-Za-z0-9]{30,}"  # Hugging Face
            r"|cvy_[A-Za-z0-9_-]{20,}"  # Covey's own
            r"|eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,})"  # a JWT
             + _E
        ),
        trigger=_key_prefix,
    ),
    Detector(
        PII,
        "EMAIL",
        re.compile(
            _B
            + r"[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
            + _E
        ),
        trigger=lambda text: "@" in text,
    ),
    Detector(
        FINANCIAL,
        "IBAN",
        re.compile(r"[A-Z](?<![A-Za-z0-9][A-Z])[A-Z]\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b"),
        _iban,
        _digits,
    ),
    # The first digit leads each pattern (and the look-behind follows it), so the scan jumps between digits.
    Detector(FINANCIAL, "CARD_NUMBER", re.compile(r"\d(?<![\d-]\d)(?:[ -]?\d){12,18}(?![\d-])"), _card, _digits),
    Detector(PII, "NATIONAL_ID", re.compile(r"\d(?<![\d-]\d)\d{2}-\d{2}-\d{4}(?![\d-])"), _ssn, _digits),  # US SSN
    Detector(
        PII,
        "NATIONAL_ID",  # UK National Insurance number
        re.compile(r"\b(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b"),
        trigger=_digits,
    ),
    Detector(
        PII,
        "PHONE",
        re.compile(
            r"(?:\+(?<![\w+]\+)\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]\d{2,4}){1,4}"  # +44 20 7946 0958
            r"|\((?<![\w+]\()\d{3}\) ?\d{3}[ .-]\d{4}"  # (415) 555-0132
            r"|\d(?<![\w+]\d)\d{2}[.-]\d{3}[.-]\d{4})"  # 415-555-0132
            r"(?![\w-])"
        ),
        _phone,
        _digits,
    ),
)


def find(text: str, categories: frozenset[str] | set[str]) -> list[Finding]:
    """Every finding of the categories asked for, without overlaps (the first to start wins, the longest
    of those), in order."""
    found: list[Finding] = []
    for detector in DETECTORS:
        if detector.category not in categories or (detector.trigger is not None and not detector.trigger(text)):
            continue
        for m in detector.pattern.finditer(text):
            if detector.valid is None or detector.valid(m.group()):
                found.append(Finding(detector.category, detector.type, m.start(), m.end()))
    found.sort(key=lambda f: (f.start, -f.end))
    out: list[Finding] = []
    for f in found:
        if not out or f.start >= out[-1].end:
            out.append(f)
    return out


def masked(text: str, findings: list[Finding]) -> str:
    parts: list[str] = []
    at = 0
    for f in findings:
        parts += [text[at : f.start], f.placeholder]
        at = f.end
    parts.append(text[at:])
    return "".join(parts)


def open_block(text: str) -> int | None:
    """Where a `-----BEGIN …` block starts whose end has not come yet (a stream holds it back)."""
    begin = text.rfind("-----BEGIN ")
    return begin if begin >= 0 and not _END.search(text, begin) else None


_END = re.compile(r"-----END [A-Z0-9 ]*-----")
