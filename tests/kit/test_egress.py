"""Where webhooks may go: every spelling of a non-public address is refused; public ones pass, and
the request is sent to the address that was checked."""

from __future__ import annotations

import ipaddress

import pytest

from covey.kit import egress


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("10.1.2.3", "private"),
        ("fc00::1", "private"),
        ("224.0.0.1", "multicast"),
        ("ff0e::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("::ffff:10.0.0.1", "private"),
        ("2002:7f00:1::", "loopback"),  # 6to4 around 127.0.0.1
        ("64:ff9b::7f00:1", "loopback"),  # NAT64 around 127.0.0.1
        ("100.64.0.1", "reserved"),
        ("8.8.8.8", None),
        ("2606:4700::1111", None),
    ],
)
def test_refusal_names_the_kind_of_address(address: str, reason: str | None) -> None:
    assert egress.refusal(ipaddress.ip_address(address)) == reason


def test_a_public_address_is_called_as_checked_and_a_named_host_keeps_its_name() -> None:
    assert egress.resolve("https://8.8.8.8/hook?x=1", allowed_hosts=()).url == "https://8.8.8.8:443/hook?x=1"
    target = egress.resolve("http://127.0.0.1:9/hook", allowed_hosts=["127.0.0.1"])
    assert (target.url, target.headers) == ("http://127.0.0.1:9/hook", {})
    with pytest.raises(egress.DestinationRefused, match="localhost is a loopback address"):
        egress.resolve("http://localhost/", allowed_hosts=["127.0.0.1"])  # allowed as written, not as resolved
    with pytest.raises(egress.Unresolved):
        egress.resolve("https://no-such-host.invalid/", allowed_hosts=())
