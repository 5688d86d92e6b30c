"""Covey's users and groups as SCIM resources, and what a SCIM payload asks Covey to store."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import TypeAdapter
from scim2_models import GroupMember, InvalidValueException, Meta, Name

from covey.kit.fields import Email
from covey.models import Group, User
from covey.scim import resources
from covey.scim.resources import InputGroup, InputUser

_MAX_NAME = 200
_MAX_USER_NAME = 320
# Covey keeps one address a person; it is their work address, so `emails[type eq "work"]` finds it.
EMAIL_TYPE = "work"
_EMAIL_ADAPTER: TypeAdapter[str] = TypeAdapter(Email)


def _location(base_url: str, endpoint: str, object_id: str) -> str:
    return f"{base_url}/{endpoint}/{object_id}"


def user_resource(user: User, groups: Sequence[Group], *, base_url: str) -> resources.User:
    return resources.User(
        id=user.id,
        external_id=user.external_id,
        user_name=user.scim_user_name,
        display_name=user.name,
        active=user.active,
        emails=[resources.UserEmail(value=user.email)] if user.email else None,
        groups=[
            resources.UserGroupRef(value=g.id, ref=_location(base_url, "Groups", g.id), display=g.name) for g in groups
        ]
        or None,
        meta=Meta(
            resource_type="User",
            created=user.created_at,
            last_modified=user.updated_at,
            location=_location(base_url, "Users", user.id),
        ),
    )


def group_resource(group: Group, member_ids: Sequence[str] | None, *, base_url: str) -> resources.Group:
    members = None
    if member_ids:
        members = [
            resources.GroupMember(value=uid, ref=_location(base_url, "Users", uid), type="User") for uid in member_ids
        ]
    return resources.Group(
        id=group.id,
        external_id=group.external_id,
        display_name=group.name,
        members=members,
        meta=Meta(
            resource_type="Group",
            created=group.created_at,
            last_modified=group.updated_at,
            location=_location(base_url, "Groups", group.id),
        ),
    )


def user_as_input(user: User) -> InputUser:
    """The stored user in the library's full model, for a PATCH to be applied to."""
    return InputUser(
        id=user.id,
        external_id=user.external_id,
        user_name=user.scim_user_name,
        display_name=user.name,
        name=_name_parts(user.name),
        emails=[resources.InputEmail(value=user.email, type=EMAIL_TYPE, primary=True)] if user.email else None,
        active=user.active,
    )


def _name_parts(name: str) -> Name:
    """Covey keeps one name; a PATCH of `name.familyName` alone needs the given name it goes with."""
    given, _, family = name.rpartition(" ")
    if not given:
        return Name(formatted=name, given_name=family)
    return Name(formatted=name, given_name=given, family_name=family)


def group_as_input(group: Group, member_ids: Sequence[str]) -> InputGroup:
    return InputGroup(
        id=group.id,
        external_id=group.external_id,
        display_name=group.name,
        members=[GroupMember(value=uid, type="User") for uid in member_ids] or None,
    )


@dataclass(frozen=True)
class UserFields:
    user_name: str
    email: str | None  # None: the person has no email (they own keys; no panel password)
    name: str | None
    external_id: str | None
    active: bool | None  # None: not given (a PUT without it leaves the status alone)


def _clean_name(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    value = value.strip()
    if len(value) > _MAX_NAME:
        raise InvalidValueException(detail=f"displayName is longer than {_MAX_NAME} characters")
    return value


def _name_of(user: InputUser) -> str | None:
    """Covey keeps one name: displayName, else the formatted name, else given and family names."""
    parts = user.name
    joined = " ".join(p for p in (parts.given_name, parts.family_name) if p) if parts else None
    return (
        _clean_name(user.display_name) or _clean_name(parts.formatted if parts else None) or _clean_name(joined or None)
    )


def _changed_name(before: InputUser, after: InputUser) -> str | None:
    """After a PATCH: the name source that changed decides, so `name.givenName` alone still counts."""
    if after.display_name != before.display_name:
        return _clean_name(after.display_name)
    b, a = before.name or Name(), after.name or Name()
    if a.formatted != b.formatted:
        return _clean_name(a.formatted)
    if (a.given_name, a.family_name) != (b.given_name, b.family_name):
        return _clean_name(" ".join(p for p in (a.given_name, a.family_name) if p) or None)
    return None


def _user_name(value: str | None) -> str:
    """RFC 7643: any non-empty string, unique in the org without regard to case."""
    if value is None or not value.strip():
        raise InvalidValueException(detail="userName is required")
    if len(value) > _MAX_USER_NAME:
        raise InvalidValueException(detail=f"userName is longer than {_MAX_USER_NAME} characters")
    return value.strip()


def _as_email(value: str) -> str | None:
    try:
        return str(_EMAIL_ADAPTER.validate_python(value))
    except ValueError:
        return None


def _email(user: InputUser, user_name: str) -> str | None:
    """The primary address of `emails`, else the first; without any, userName when it is an address."""
    listed = [e for e in user.emails or [] if e.value and e.value.strip()]
    chosen = next((e for e in listed if e.primary), listed[0] if listed else None)
    if chosen is None:
        return _as_email(user_name)
    assert chosen.value is not None
    email = _as_email(chosen.value)
    if email is None:
        raise InvalidValueException(detail=f"emails: {chosen.value!r} is not an email address")
    return email


def _external_id(value: str | None) -> str | None:
    if value is not None and len(value) > 255:
        raise InvalidValueException(detail="externalId is longer than 255 characters")
    return value or None


def user_fields(user: InputUser, *, before: InputUser | None = None) -> UserFields:
    """What a created, replaced (no `before`) or patched (with `before`) user should look like."""
    name = _changed_name(before, user) if before is not None else _name_of(user)
    user_name = _user_name(user.user_name)
    return UserFields(
        user_name=user_name,
        email=_email(user, user_name),
        name=name,
        external_id=_external_id(user.external_id),
        active=user.active,
    )


@dataclass(frozen=True)
class GroupFields:
    name: str
    external_id: str | None
    member_ids: list[str]


def group_fields(group: InputGroup) -> GroupFields:
    name = _clean_name(group.display_name)
    if name is None:
        raise InvalidValueException(detail="displayName is required")
    member_ids: list[str] = []
    for member in group.members or []:
        if member.type is not None and member.type.lower() != "user":
            raise InvalidValueException(detail="a Covey group's members are users; nest groups in Covey instead")
        if not member.value:
            raise InvalidValueException(detail="a member needs a value (the user's id)")
        if member.value not in member_ids:
            member_ids.append(member.value)
    return GroupFields(name=name, external_id=_external_id(group.external_id), member_ids=member_ids)
