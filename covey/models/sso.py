from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from covey.kit.clock import utcnow
from covey.kit.db import Base, UTCDateTime


class OrgSso(Base):
    """An organization's OpenID Connect sign-in: one issuer per org (docs/design.md §2)."""

    __tablename__ = "org_sso"

    org_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    issuer: Mapped[str] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(255))
    # The name of the environment variable holding the client secret (none: a public client, PKCE alone).
    client_secret_env: Mapped[str | None] = mapped_column(String(128), default=None)
    # What the sign-in page's button names ("Sign in with Okta").
    label: Mapped[str] = mapped_column(String(100), default="")
    # Email domains allowed to sign in; empty = any domain.
    allowed_domains: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The ID token claim that lists the person's IdP groups.
    groups_claim: Mapped[str] = mapped_column(String(100), default="groups")
    # IdP group (as the claim and SCIM name it) → Covey group id.
    group_mapping: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    password_sign_in: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class SsoLogin(Base):
    """A sign-in sent to the issuer and not back yet: its state (hashed), nonce and PKCE verifier.
    The callback deletes the row it uses, so a replayed callback finds nothing."""

    __tablename__ = "sso_logins"

    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(36), ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    nonce: Mapped[str] = mapped_column(String(128))
    code_verifier: Mapped[str] = mapped_column(String(128))
    next: Mapped[str] = mapped_column(String(500), default="/admin/")
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
