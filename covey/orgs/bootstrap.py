"""A new organization with its owner and a first admin key: what `covey init` and `covey demo` make."""

from __future__ import annotations

from dataclasses import dataclass

from argon2 import PasswordHasher
from sqlalchemy.orm import Session

from covey.audit import service as audit
from covey.auth.caller import Caller
from covey.keys import service as keys
from covey.keys.schemas import KeyCreate, Permissions
from covey.kit.crypto import new_password
from covey.models import ApiKey, Organization, User
from covey.orgs import repository
from covey.orgs.schemas import OrgOut
from covey.users import service as users
from covey.users.schemas import UserCreate


@dataclass(frozen=True)
class Bootstrapped:
    org: Organization
    owner: User
    password: str
    api_key: str
    api_key_id: str


def create_org(session: Session, *, name: str, owner_email: str, owner_name: str | None = None) -> Bootstrapped:
    org = repository.add(session, Organization(name=name))
    system = Caller.system(org.id, label="covey init")
    audit.record(session, system, "org.create", "org", org.id, after=OrgOut.of(org).model_dump(mode="json"))
    password = new_password()
    owner = users.create(
        session,
        system,
        UserCreate(email=owner_email, name=owner_name, role="owner"),
        password_hash=PasswordHasher().hash(password),
    )
    key, secret = admin_key(session, system, owner, name="admin")
    return Bootstrapped(org=org, owner=owner, password=password, api_key=secret, api_key_id=key.id)


def admin_key(session: Session, caller: Caller, owner: User, *, name: str) -> tuple[ApiKey, str]:
    """A personal key with full management rights, for the org's owner."""
    return keys.create(
        session,
        caller,
        KeyCreate(name=name, owner_id=owner.id, permissions=Permissions(manage="write", completions="write")),
    )
