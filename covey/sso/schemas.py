"""The API shapes of an organization's OpenID Connect sign-in settings."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from covey.config import SSO_SECRET_PREFIX, sso_client_secret
from covey.kit.fields import Id, Strict
from covey.models import OrgSso

CALLBACK_PATH = "/admin/sso/callback"
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_SECRET_ENV = re.compile(rf"^{SSO_SECRET_PREFIX}[A-Z0-9_]+$")


def _issuer(value: str) -> str:
    if not re.match(r"^https?://[^/?#\s]+(/[^?#\s]*)?$", value):
        raise ValueError("the issuer is an http(s) URL without query or fragment (https://idp.example.com/…)")
    return value


def _domain(value: str) -> str:
    value = value.strip().lower().removeprefix("@")
    if not _DOMAIN.match(value):
        raise ValueError(f"{value!r} is not an email domain (example.com)")
    return value


def _secret_env(value: str) -> str:
    if not _SECRET_ENV.match(value):
        raise ValueError(f"the variable's name starts with {SSO_SECRET_PREFIX} (upper case, digits and _)")
    return value


Issuer = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500), AfterValidator(_issuer)]
Domain = Annotated[str, AfterValidator(_domain)]
SecretEnv = Annotated[str, StringConstraints(strip_whitespace=True, max_length=128), AfterValidator(_secret_env)]
IdpGroup = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]


class SsoSettings(Strict):
    """The whole of an org's sign-in through its identity provider (PUT replaces it)."""

    issuer: Issuer = Field(description="The issuer URL; its /.well-known/openid-configuration is read")
    client_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
    client_secret_env: SecretEnv | None = Field(
        default=None,
        description=f"The environment variable ({SSO_SECRET_PREFIX}…) that holds the client secret; "
        "null: a public client (PKCE only)",
    )
    label: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] = Field(
        default="", description='The sign-in button says "Sign in with <label>" (default: the org\'s name)'
    )
    allowed_domains: list[Domain] = Field(
        default_factory=list, max_length=100, description="Email domains that may sign in; empty: any"
    )
    groups_claim: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] = Field(
        default="groups", description="The ID token claim listing the person's IdP groups"
    )
    group_mapping: dict[IdpGroup, Id] = Field(
        default_factory=dict, max_length=1000, description="IdP group → Covey group id"
    )
    password_sign_in: bool = Field(
        default=True, description="Whether the org's people may also sign in with a password"
    )


class SsoSettingsOut(BaseModel):
    issuer: str
    client_id: str
    client_secret_env: str | None
    client_secret_set: bool = Field(description="Whether the named environment variable holds a value")
    label: str
    allowed_domains: list[str]
    groups_claim: str
    group_mapping: dict[str, str]
    password_sign_in: bool
    redirect_path: str = Field(description="Register <Covey's address> + this path as the redirect URI")
    updated_at: datetime

    @classmethod
    def of(cls, row: OrgSso) -> SsoSettingsOut:
        return cls(
            issuer=row.issuer,
            client_id=row.client_id,
            client_secret_env=row.client_secret_env,
            client_secret_set=bool(row.client_secret_env and sso_client_secret(row.client_secret_env)),
            label=row.label,
            allowed_domains=list(row.allowed_domains or []),
            groups_claim=row.groups_claim,
            group_mapping=dict(row.group_mapping or {}),
            password_sign_in=row.password_sign_in,
            redirect_path=CALLBACK_PATH,
            updated_at=row.updated_at,
        )
