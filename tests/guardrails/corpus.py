"""A labelled corpus for the guardrails: snippets as people paste them into prompts, each with the
category it holds (and the value that must not survive masking), or none. Built from a fixed seed:
valid values are made to their formats' rules (Luhn check digits, IBAN check digits, SSN ranges),
and the negatives are the lookalikes a detector must leave alone (numbers failing their checksum,
dates, versions, ids, hashes, public keys, URLs without credentials)."""

from __future__ import annotations

import random
import string
from dataclasses import dataclass


@dataclass(frozen=True)
class Snippet:
    text: str
    category: str | None  # pii | secrets | financial | None
    value: str = ""  # what must not reach the other side


_rng = random.Random(20261202)
_FIRST = ["alice", "bob", "carla", "dmitri", "eva", "farid", "grace", "hiro", "ines", "jonas", "kemi", "liam"]
_LAST = ["smith", "nguyen", "garcia", "okafor", "muller", "rossi", "tanaka", "dubois", "kowalski", "silva"]
_DOMAINS = ["example.com", "acme.example", "mail.example.org", "corp.example.co.uk", "uni.example.edu", "ex.io"]
_SAY = [
    "Please email {} about the invoice.",
    "My contact is {}, reach out any time.",
    "Forward the report to {} before Friday.",
    "Customer wrote from {} asking for a refund",
    "{}",
    "cc: {}; thanks!",
    "Here is the value: {} (do not share)",
    "log line: user={} status=ok",
]


def _say(value: str) -> str:
    return _rng.choice(_SAY).format(value)


def _word(n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(_rng.choice(alphabet) for _ in range(n))


def _luhn_complete(prefix: str, length: int) -> str:
    body = prefix + "".join(_rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    for check in string.digits:
        digits = body + check
        total = sum(
            (d * 2 - 9 if d * 2 > 9 else d * 2) if i % 2 else d for i, d in enumerate(int(c) for c in reversed(digits))
        )
        if total % 10 == 0:
            return digits
    raise AssertionError("unreachable")


def _iban(country: str, bban: str) -> str:
    moved = bban + country + "00"
    check = 98 - int("".join(str(int(c, 36)) for c in moved)) % 97
    return f"{country}{check:02d}{bban}"


def _grouped(value: str, sep: str = " ", size: int = 4) -> str:
    return sep.join(value[i : i + size] for i in range(0, len(value), size))


def _positives() -> list[Snippet]:
    out: list[Snippet] = []
    for _ in range(40):
        email = (
            f"{_rng.choice(_FIRST)}{_rng.choice(['.', '_', '', '+work.'])}{_rng.choice(_LAST)}@{_rng.choice(_DOMAINS)}"
        )
        out.append(Snippet(_say(email), "pii", email))
    phones = []
    for _ in range(10):
        a, b, c = _rng.randint(201, 989), _rng.randint(200, 999), _rng.randint(0, 9999)
        phones += [f"({a}) {b}-{c:04d}", f"{a}-{b}-{c:04d}", f"+1 {a} {b} {c:04d}"]
    for _ in range(4):
        phones += [
            f"+44 20 {_rng.randint(7000, 7999)} {_rng.randint(1000, 9999)}",
            f"+49 30 {_rng.randint(100, 999)} {_rng.randint(1000, 9999)}",
            f"+33 1 {_rng.randint(10, 99)} {_rng.randint(10, 99)} {_rng.randint(10, 99)} {_rng.randint(10, 99)}",
        ]
    # National formats without a country code: hard to tell from other numbers, some are missed.
    phones += ["020 7946 0958", "030 12345678", "06 12 34 56 78", "0171-234-5678", "(0)20 7946 0958"]
    out += [
        Snippet(_rng.choice(["Call me on {}.", "phone: {}", "Mobile {} after 6pm"]).format(p), "pii", p) for p in phones
    ]
    for _ in range(15):
        ssn = f"{_rng.randint(1, 665):03d}-{_rng.randint(1, 99):02d}-{_rng.randint(1, 9999):04d}"
        out.append(Snippet(f"SSN {ssn} on the W-2 form", "pii", ssn))
    for _ in range(10):
        digits = "".join(str(_rng.randint(10, 99)) for _ in range(3))
        nino = f"{_rng.choice('ACEHJLMOPRSWXY')}{_rng.choice('ABCEHJLMPRSTWXY')}{digits}{_rng.choice('ABCD')}"
        out.append(Snippet(f"National Insurance number {nino}.", "pii", nino))
    keys = []
    for _ in range(5):
        keys += [
            "sk-proj-" + _word(48, string.ascii_letters + string.digits + "_-"),
            "sk-ant-api03-" + _word(80, string.ascii_letters + string.digits + "_-"),
            "AKIA" + _word(16, string.ascii_uppercase + string.digits),
            "ghp_" + _word(36),
            "xoxb-" + "-".join(_word(12, string.digits) for _ in range(2)) + "-" + _word(24),
            "sk_live_" + _word(24),
            "AIza" + _word(35, string.ascii_letters + string.digits + "_-"),
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
            + _word(43, string.ascii_letters + string.digits + "_-"),
        ]
    out += [
        Snippet(
            _rng.choice(
                ["export OPENAI_API_KEY={}", "my token is {} please debug", "Authorization: Bearer {}", "{}"]
            ).format(k),
            "secrets",
            k,
        )
        for k in keys
    ]
    for kind in ["RSA ", "EC ", "OPENSSH ", "", "ENCRYPTED "] * 2:
        body = "\n".join(_word(64, string.ascii_letters + string.digits + "+/") for _ in range(4))
        pem = f"-----BEGIN {kind}PRIVATE KEY-----\n{body}\n-----END {kind}PRIVATE KEY-----"
        out.append(Snippet(f"Here is the deploy key:\n{pem}\nuse it carefully", "secrets", pem))
    for scheme in ["postgresql", "postgres", "mysql", "mongodb+srv", "redis", "amqp", "mssql"] * 3:
        host = f"{_rng.choice(['db', 'cache', 'mq'])}.internal:{_rng.randint(1000, 9999)}"
        url = f"{scheme}://{_rng.choice(_FIRST)}:{_word(14)}@{host}/app"
        out.append(Snippet(f"DATABASE_URL={url}", "secrets", url))
    cards = []
    for prefix, length in [
        ("4", 16),
        ("51", 16),
        ("55", 16),
        ("2221", 16),
        ("34", 15),
        ("37", 15),
        ("6011", 16),
        ("4", 13),
        ("35", 16),
        ("62", 16),
    ] * 3:
        number = _luhn_complete(prefix, length)
        cards.append(_rng.choice([number, _grouped(number), _grouped(number, "-")]))
    out += [
        Snippet(
            _rng.choice(["Charge card {} for the order", "CC: {} exp 04/29", "card number {}"]).format(c),
            "financial",
            c,
        )
        for c in cards
    ]
    for country, bban_len in [("DE", 18), ("FR", 23), ("NL", 14), ("ES", 20), ("IT", 23), ("GB", 18)] * 4:
        if country == "GB":
            bban = "".join(_rng.choice(string.ascii_uppercase) for _ in range(4)) + _word(14, string.digits)
        elif country == "NL":
            bban = "".join(_rng.choice(string.ascii_uppercase) for _ in range(4)) + _word(10, string.digits)
        else:
            bban = _word(bban_len, string.digits)
        iban = _iban(country, bban)
        shown = _rng.choice([iban, _grouped(iban)])
        out.append(Snippet(f"Wire the money to IBAN {shown}, reference 1182.", "financial", shown))
    return out


_NEGATIVES_FIXED = [
    "The meeting is on 2024-01-15 at 10:30.",
    "Upgrade to version 1.2.3 or 10.4.22-beta.",
    "Order 123456789 shipped; tracking 1Z999AA10123456784.",
    "uuid 123e4567-e89b-12d3-a456-426614174000",
    "commit 9fceb02d0ae598e95dc970b74767f19372d61af8 fixed it",
    "ping 192.168.10.254 and 10.0.0.1",
    "Price: $1,299.99 (was $1,499.00)",
    "Thanks @alice for the review!",
    "write to alice at example dot com",
    "I love sk-ating and sk-iing",
    "pip install scikit-learn; import sklearn",
    "token sk-123 is too short to be real",
    "postgres://db.internal:5432/app has no password in it",
    "https://github.com/acme/covey/pull/42",
    "ISBN 978-3-16-148410-0",
    "ZIP 94103-1234",
    "3 * 4 = 12, 12 / 4 = 3",
    "Seat 14C, gate B22, flight LH 1234",
    "The years 2019-2024 were busy.",
    "Coordinates 48.8566, 2.3522",
    "File size 1048576 bytes",
    "Ratio 16:9 at 1920x1080",
    "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----",
    "-----BEGIN CERTIFICATE----- (see attachment)",
    "Use the AKIA prefix to recognize AWS key ids.",
    "Our SSN field is formatted ###-##-####.",
    "Call extension 4412 for support.",
    "Room 101-B, building 7",
    "Error code 0x80070005",
    "color #ff8800 and #00ff00",
    "Invoice INV-2024-000123 is due.",
    "The ratio is 0.5551234567 roughly",
    "Temperature 23.5C, humidity 45%",
    "https://example.com/path?user=alice&id=42",
    "git@github.com:acme/covey.git",
    "Version string: covey/0.1.0 (python 3.11)",
    "Test id 000-00-0000 is not a real SSN",
    "Serial 900-12-3456 is outside the SSN range",
    "Model gpt-4o-mini costs 0.15 per million",
    "mailto: form is disabled",
    "The eyJ prefix is how JWTs begin.",
    "ghp_ is GitHub's token prefix",
    "Phone 555-0100 is fictional",
    "Call 1-800-FLOWERS today",
    "Estimate: 12 345 678 units sold",
    "Matrix [[1, 2], [3, 4]]",
    "Account # is on the back of the card",
    "IBAN format: two letters, two digits, up to 30 more",
    "regex \\d{3}-\\d{2}-\\d{4}",
    "user@localhost is not routable",
]


def _negatives() -> list[Snippet]:
    out = [Snippet(t, None) for t in _NEGATIVES_FIXED]
    for _ in range(40):  # card-like numbers that fail the Luhn check
        good = _luhn_complete(_rng.choice(["4", "51", "37", "6011"]), 16)
        bad = good[:-1] + str((int(good[-1]) + _rng.randint(1, 9)) % 10)
        out.append(Snippet(f"Reference number {_rng.choice([bad, _grouped(bad)])} for your records", None))
    for _ in range(25):  # IBAN-shaped strings with wrong check digits
        iban = _iban("DE", _word(18, string.digits))
        wrong = iban[:2] + f"{(int(iban[2:4]) + _rng.randint(1, 90)) % 97 + 2:02d}" + iban[4:]
        if wrong[2:4] != iban[2:4]:
            out.append(Snippet(f"Account ref {wrong} (test data)", None))
    for _ in range(30):  # dates, times and versions
        out.append(
            Snippet(
                _rng.choice(
                    [
                        f"Released {_rng.randint(2000, 2030)}-{_rng.randint(1, 12):02d}-{_rng.randint(1, 28):02d}",
                        f"v{_rng.randint(0, 20)}.{_rng.randint(0, 99)}.{_rng.randint(0, 999)}",
                        f"at {_rng.randint(0, 23):02d}:{_rng.randint(0, 59):02d}:{_rng.randint(0, 59):02d} UTC",
                        f"build {_rng.randint(1000, 99999)}",
                    ]
                ),
                None,
            )
        )
    for _ in range(30):  # ids and hashes
        out.append(
            Snippet(
                _rng.choice(
                    [
                        f"sha256:{_word(64, '0123456789abcdef')}",
                        f"request id req_{_word(24)}",
                        f"trace {_word(32, '0123456789abcdef')}",
                        f"key prefix cvy_{_word(6)}",
                        f"order #{_rng.randint(10**7, 10**9)}",
                    ]
                ),
                None,
            )
        )
    for _ in range(25):  # prose with numbers
        n = _rng.randint(2, 999)
        out.append(
            Snippet(f"We shipped {n} units to {_rng.randint(2, 50)} stores across {_rng.randint(2, 9)} regions.", None)
        )
    return out


POSITIVES = _positives()
NEGATIVES = _negatives()
