"""Signing in to the panel: email and password (argon2), a lock-out after repeated failures, and
server-side sessions that signing out ends. Sign-in through an org's identity provider is `covey.sso`;
it opens the same sessions (`open_session`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from covey.admin import repository
from covey.auth.authority import user_caller
from covey.auth.caller import Caller
from covey.kit.crypto import hash_secret, new_token
from covey.models import AdminSession, User
from covey.sso import repository as sso_repository

# Failures count per (email, client address): a stranger who knows an admin's email can lock out only
# their own address. One address guessing across many emails is stopped by the second figure.
MAX_FAILURES = 5
MAX_FAILURES_PER_CLIENT = 20
LOCKOUT_WINDOW = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=12)

_hasher = PasswordHasher()
# Checked when no user has the email, so a wrong email costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("covey-no-such-user")


@dataclass(frozen=True)
class SignInResult:
    user: User | None
    token: str | None = None
    error: str | None = None
    status: int = 200


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def _locked_out(error: str, oldest: datetime | None, now: datetime) -> SignInResult:
    wait = (oldest or now) + LOCKOUT_WINDOW - now
    minutes = max(1, -(-int(wait.total_seconds()) // 60))
    return SignInResult(
        user=None, error=f"{error} Try again in {minutes} minute{'s' if minutes > 1 else ''}.", status=429
    )


def sign_in(session: Session, *, email: str, password: str, client: str, now: datetime) -> SignInResult:
    """Never raises for a refusal: the failure it records must be committed with the answer.
    `client` is the address the attempt came from."""
    email = email.strip().lower()
    client = client[:64]
    since = now - LOCKOUT_WINDOW
    repository.prune_failures(session, before=since)
    count, oldest = repository.failures_since(session, since=since, client=client, email=email)
    if count >= MAX_FAILURES:
        return _locked_out(f"Too many failed sign-ins for {email} from this address.", oldest, now)
    count, oldest = repository.failures_since(session, since=since, client=client)
    if count >= MAX_FAILURES_PER_CLIENT:
        return _locked_out("Too many failed sign-ins from this address.", oldest, now)
    candidates = repository.users_by_email(session, email=email) if email else []
    user = next((u for u in candidates if _verify(u.password_hash, password)), None)
    if user is None:
        if not candidates:
            _verify(None, password)
        repository.add_failure(session, email=email, client=client, at=now)
        return SignInResult(user=None, error="Wrong email or password.", status=401)
    if not user.active:
        return SignInResult(user=None, error="This account is deactivated.", status=403)
    sso = sso_repository.get(session, org_id=user.org_id)
    if sso is not None and not sso.password_sign_in:
        return SignInResult(
            user=None, error="Your organization signs in through its identity provider: use its button.", status=403
        )
    repository.clear_failures(session, email=email, client=client)
    return SignInResult(user=user, token=open_session(session, user, now=now))


def open_session(session: Session, user: User, *, now: datetime) -> str:
    """A new panel session for `user`; the token goes in the (sealed) cookie."""
    repository.delete_expired_sessions(session, now=now)
    token = new_token("cvs_")
    repository.add_session(
        session,
        AdminSession(
            token_hash=hash_secret(token),
            org_id=user.org_id,
            user_id=user.id,
            created_at=now,
            expires_at=now + SESSION_LIFETIME,
        ),
    )
    return token


def resolve(session: Session, *, token: str, now: datetime) -> User | None:
    """The signed-in user, while the session lives and the user is active."""
    found = repository.session_with_user(session, token_hash=hash_secret(token))
    if found is None:
        return None
    row, user = found
    if row.expires_at <= now or not user.active:
        return None
    return user


def sign_out(session: Session, *, token: str) -> None:
    repository.delete_session(session, token_hash=hash_secret(token))


def caller_for(session: Session, user: User) -> Caller:
    """The same `Caller` a management key of this user's would give: the panel can do nothing the API
    does not allow, and the audit log names the user."""
    return user_caller(session, user)
