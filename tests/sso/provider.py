"""A real OpenID provider on 127.0.0.1 for the sign-in tests: `provider.mjs` over the npm package
`oidc-provider`, installed outside the repository (`.ci/run` installs it into ~/.cache/covey-tests, or
wherever COVEY_TEST_PACKAGES_DIR says). Without node or the package the tests skip and say so, except
under CI, where that is a failure."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from joserfc.jwk import RSAKey

from tests.admin.browser import free_port

PACKAGES = Path(os.environ.get("COVEY_TEST_PACKAGES_DIR", Path.home() / ".cache" / "covey-tests"))
SCRIPT = Path(__file__).with_name("provider.mjs")
CLIENT_ID = "covey-panel"
CLIENT_SECRET = "covey-tests-client-secret-0123456789"


def missing_provider() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed"
    if not (PACKAGES / "node_modules" / "oidc-provider" / "package.json").exists():
        return f"the npm package oidc-provider is not in {PACKAGES} (npm install --prefix {PACKAGES} oidc-provider)"
    return None


def new_key(kid: str) -> dict[str, Any]:
    key = RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})
    return dict(key.as_dict(private=True))


def public(key: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in key.items() if k in ("kty", "kid", "use", "alg", "n", "e")}


@dataclass
class Provider:
    issuer: str
    accounts_file: Path
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)

    def account(self, login: str, **claims: Any) -> None:
        """A person who can sign in as `login` (any password), with these claims; `sub` is the login."""
        self.accounts[login] = claims
        self.accounts_file.write_text(json.dumps(self.accounts))


@contextmanager
def running(
    workdir: Path,
    *,
    redirect_uri: str,
    signing_keys: list[dict[str, Any]],
    published_keys: list[dict[str, Any]] | None = None,
    clock_offset_seconds: int = 0,
    port: int | None = None,
) -> Iterator[Provider]:
    port = port or free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    accounts = workdir / f"accounts-{port}.json"
    accounts.write_text("{}")
    config = {
        "port": port,
        "accounts_file": str(accounts),
        "signing_keys": signing_keys,
        "published_keys": published_keys,
        "clock_offset_seconds": clock_offset_seconds,
        "client": {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uris": [redirect_uri],
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "client_secret_basic",
        },
    }
    config_file = workdir / f"provider-{port}.json"
    config_file.write_text(json.dumps(config))
    log = (workdir / f"provider-{port}.log").open("w+")
    process = subprocess.Popen(
        ["node", str(SCRIPT), str(PACKAGES), str(config_file)], stdout=subprocess.PIPE, stderr=log, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("listening"):
            process.wait(timeout=10)
            log.seek(0)
            raise RuntimeError(f"the OpenID provider did not start: {log.read()[-2000:]}")
        yield Provider(issuer=f"http://127.0.0.1:{port}", accounts_file=accounts)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
        log.close()


def wait_for_port_free(port: int) -> None:
    """After a provider stops, before another takes its port (key rotation)."""
    import socket

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
                return
            except OSError:
                time.sleep(0.05)
