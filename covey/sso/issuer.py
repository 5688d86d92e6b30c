"""Talking to an OpenID Connect issuer, on Authlib (and joserfc, which Authlib's own OpenID client uses
for signatures): discovery, the authorization URL with PKCE, the code exchange, and the ID token's
checks — signature against the issuer's key set, issuer, audience, expiry, nonce (docs/design.md §2).
A token signed with a key the cached set does not name makes the set be fetched again once (the
issuer rotated its keys).

Every call goes through the same egress rule as webhooks (`kit/egress.py`): public addresses only,
unless the issuer's host is in `oidc_allowed_hosts`."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.auth import ClientAuth
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from covey.kit import egress

SCOPE = "openid email profile"
# Signatures with the issuer's published keys only: never "none", never a shared secret.
_ASYMMETRIC = ("RS", "PS", "ES", "Ed")
_CACHE_SECONDS = 300.0
_TIMEOUT_SECONDS = 10.0
LEEWAY_SECONDS = 60


class IssuerError(Exception):
    """The issuer could not be used (unreachable, refused, or answered nonsense); the message says why
    without echoing what it sent."""


class TokenRefused(Exception):
    """The ID token (or the code exchange) failed a check; the message names which."""


class _CheckedTransport(httpx.BaseTransport):
    """Each request goes to the address `egress.resolve` checked, with the name kept for Host and TLS."""

    def __init__(self, allowed_hosts: list[str]) -> None:
        self._allowed = allowed_hosts
        self._inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        target = egress.resolve(str(request.url), allowed_hosts=self._allowed, purpose="OpenID Connect issuers")
        if target.host is not None:
            request.url = httpx.URL(target.url)
            request.headers["Host"] = target.host
            request.extensions = {**request.extensions, **target.extensions}
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


@dataclass
class _Known:
    metadata: dict[str, Any]
    keys: KeySet | None = None
    fetched_at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class Client:
    """What an org's settings say of its issuer."""

    issuer: str
    client_id: str
    client_secret: str | None


class Issuers:
    """The discovery documents and key sets of the issuers in use, kept a few minutes; one per process,
    from the lifespan."""

    def __init__(self, *, allowed_hosts: list[str]) -> None:
        self._allowed = list(allowed_hosts)
        self._known: dict[str, _Known] = {}
        self._lock = threading.Lock()

    def _http(self) -> httpx.Client:
        return httpx.Client(transport=_CheckedTransport(self._allowed), timeout=_TIMEOUT_SECONDS)

    def _get_json(self, url: str) -> dict[str, Any]:
        try:
            with self._http() as http:
                response = http.get(url, headers={"Accept": "application/json"})
        except egress.DestinationRefused as exc:
            raise IssuerError(str(exc)) from None
        except httpx.HTTPError:
            raise IssuerError(f"could not reach {httpx.URL(url).host}") from None
        if response.status_code != 200:
            raise IssuerError(f"{url} answered HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            raise IssuerError(f"{url} did not answer JSON") from None
        if not isinstance(body, dict):
            raise IssuerError(f"{url} did not answer a JSON object")
        return body

    def metadata(self, issuer: str) -> dict[str, Any]:
        """The issuer's discovery document (OpenID Connect Discovery 1.0), checked to name this issuer."""
        with self._lock:
            known = self._known.get(issuer)
            if known is not None and time.monotonic() - known.fetched_at < _CACHE_SECONDS:
                return known.metadata
        metadata = self._get_json(issuer.rstrip("/") + "/.well-known/openid-configuration")
        if metadata.get("issuer") != issuer:
            raise IssuerError(f"the discovery document names issuer {metadata.get('issuer')!r}, not {issuer!r}")
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(metadata.get(name), str):
                raise IssuerError(f"the discovery document has no {name}")
        with self._lock:
            self._known[issuer] = _Known(metadata=metadata)
        return metadata

    def _keys(self, issuer: str, *, fresh: bool) -> KeySet:
        metadata = self.metadata(issuer)
        with self._lock:
            known = self._known.get(issuer)
            if known is not None and known.keys is not None and not fresh:
                return known.keys
        try:
            keys = KeySet.import_key_set(self._get_json(metadata["jwks_uri"]))  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError, KeyError):
            raise IssuerError("the issuer's key set (jwks_uri) could not be read") from None
        with self._lock:
            known = self._known.get(issuer)
            if known is not None:
                known.keys = keys
        return keys

    @staticmethod
    def _auth_method(client: Client, metadata: dict[str, Any]) -> str:
        methods = metadata.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        if client.client_secret is None:
            return "none"
        if "client_secret_basic" in methods or "client_secret_post" not in methods:
            return "client_secret_basic"
        return "client_secret_post"

    def authorization_url(self, client: Client, *, redirect_uri: str, state: str, nonce: str, verifier: str) -> str:
        metadata = self.metadata(client.issuer)
        return str(
            prepare_grant_uri(
                metadata["authorization_endpoint"],
                client_id=client.client_id,
                response_type="code",
                redirect_uri=redirect_uri,
                scope=SCOPE,
                state=state,
                nonce=nonce,
                code_challenge=create_s256_code_challenge(verifier),
                code_challenge_method="S256",
            )
        )

    def exchange(self, client: Client, *, code: str, verifier: str, redirect_uri: str) -> dict[str, Any]:
        """The token endpoint's answer for a code; its ID token is not checked yet (see `verify`)."""
        metadata = self.metadata(client.issuer)
        url = metadata["token_endpoint"]
        body = prepare_token_request("authorization_code", redirect_uri=redirect_uri, code=code, code_verifier=verifier)
        auth = ClientAuth(client.client_id, client.client_secret or "", self._auth_method(client, metadata))
        url, headers, body = auth.prepare(
            "POST", url, {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}, body
        )
        try:
            with self._http() as http:
                response = http.post(url, content=body, headers=headers)
        except egress.DestinationRefused as exc:
            raise IssuerError(str(exc)) from None
        except httpx.HTTPError:
            raise IssuerError("the issuer's token endpoint did not answer") from None
        try:
            token = response.json()
        except ValueError:
            token = None
        if not isinstance(token, dict):
            raise IssuerError(f"the issuer's token endpoint answered HTTP {response.status_code}, not JSON")
        if response.status_code != 200 or "error" in token:
            raise TokenRefused(f"the issuer refused the sign-in code ({str(token.get('error'))[:100]})")
        if not isinstance(token.get("id_token"), str):
            raise TokenRefused("the issuer sent no ID token")
        return token

    def verify(self, client: Client, token: dict[str, Any], *, nonce: str) -> dict[str, Any]:
        """The ID token's claims, once its signature, issuer, audience, expiry and nonce hold."""
        metadata = self.metadata(client.issuer)
        offered = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        algorithms = [a for a in offered if isinstance(a, str) and a.startswith(_ASYMMETRIC)]
        registry = JWSRegistry(algorithms=algorithms or ["RS256"], strict_check_header=False)
        try:
            try:
                decoded = jwt.decode(token["id_token"], self._keys(client.issuer, fresh=False), registry=registry)
            except InvalidKeyIdError:
                decoded = jwt.decode(token["id_token"], self._keys(client.issuer, fresh=True), registry=registry)
        except JoseError as exc:
            raise TokenRefused(f"the ID token's signature does not verify ({exc.error})") from None
        except ValueError:
            raise TokenRefused("the ID token is not a signed JWT") from None
        claims = CodeIDToken(
            decoded.claims,
            decoded.header,
            {"iss": {"essential": True, "value": client.issuer}, "aud": {"essential": True, "value": client.client_id}},
            {"nonce": nonce, "client_id": client.client_id, "access_token": token.get("access_token")},
        )
        try:
            claims.validate(leeway=LEEWAY_SECONDS)
        except JoseError as exc:
            raise TokenRefused(f"the ID token was refused ({exc.error}: {exc.description or ''})".strip()) from None
        return dict(claims)


def new_secret() -> str:
    """State, nonce and PKCE verifier: 48 characters from Authlib's generator (RFC 7636 wants 43–128)."""
    return str(generate_token(48))
