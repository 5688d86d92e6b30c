"""The SCIM resources Covey publishes, and the wider standard ones it reads.

What is published (and returned) is only what Covey stores: a user's `userName` (any unique string,
RFC 7643), `displayName`, `active`, `externalId`, their one email (the primary of `emails`, else the
first, else `userName` when it is an address) and groups (read-only), and a group's
`displayName`, `externalId` and user `members`. Requests are read with the library's full standard
models, so identity providers may send `name.givenName`, `emails`, the enterprise extension and the
like without being refused; what Covey does not keep is ignored.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field
from scim2_models import (
    URN,
    CaseExact,
    ComplexAttribute,
    Email,
    EnterpriseUser,
    Mutability,
    Reference,
    Required,
    Resource,
    ResourceType,
    ScimPolicy,
    Uniqueness,
)
from scim2_models import Group as StandardGroup
from scim2_models import User as StandardUser

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"

# Entra sends `remove` operations whose value lists the members to remove, and `replace`/`add`
# paths whose filter matches nothing yet; attributes Covey does not keep are dropped, not refused.
POLICY = ScimPolicy(
    unknown=ScimPolicy.Unknown.ignore,
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)


class UserEmail(ComplexAttribute):
    """Covey keeps one address a person: of what it is sent, the primary, else the first (`type` and
    `primary` choose; they are not kept), and it answers with that address alone."""

    value: str | None = None


class UserGroupRef(ComplexAttribute):
    value: Annotated[str | None, Mutability.read_only, CaseExact.true] = None
    ref: Annotated[Reference[Group] | None, Mutability.read_only] = Field(
        None, serialization_alias="$ref", validation_alias="$ref"
    )
    display: Annotated[str | None, Mutability.read_only] = None


class User(Resource[Any]):
    """A person of the organization. userName identifies them; Covey keeps one of their emails."""

    __schema__ = URN(USER_SCHEMA)

    user_name: Annotated[str | None, Uniqueness.server, Required.true] = None
    # Covey keeps one name per user; it is what every other view shows, so it is always there.
    display_name: Annotated[str | None, Required.true] = None
    active: Annotated[bool | None, Required.true] = None
    emails: list[UserEmail] | None = None
    groups: Annotated[list[UserGroupRef] | None, Mutability.read_only] = None


class GroupMember(ComplexAttribute):
    value: Annotated[str | None, Mutability.immutable, CaseExact.true] = None
    ref: Annotated[Reference[User] | None, Mutability.immutable] = Field(
        None, serialization_alias="$ref", validation_alias="$ref"
    )
    type: Annotated[str | None, Mutability.immutable] = Field(None, examples=["User"])


class Group(Resource[Any]):
    """A Covey group. Its members are users; nesting is Covey's own group tree."""

    __schema__ = URN(GROUP_SCHEMA)

    display_name: Annotated[str | None, Required.true] = None
    members: list[GroupMember] | None = None


# A user's groups refer to Group, defined after User: complete the models now, so the first filter
# resolved against them finds every attribute.
UserGroupRef.model_rebuild()
User.model_rebuild()


class InputEmail(Email):
    # Read as text, so that a bad address is refused by Covey with its name, not by the library.
    value: str | None = None


class _InputUser(StandardUser[Any]):
    emails: list[InputEmail] | None = None  # type: ignore[assignment]


# What requests are read with: every standard attribute, so nothing an identity provider sends is an error.
InputUser = _InputUser[EnterpriseUser]  # type: ignore[type-arg]
InputGroup = StandardGroup

USER_TYPE = ResourceType(
    id="User",
    name="User",
    endpoint="/Users",
    description="User accounts",
    schema_=URN(USER_SCHEMA),
)
GROUP_TYPE = ResourceType(
    id="Group",
    name="Group",
    endpoint="/Groups",
    description="Groups",
    schema_=URN(GROUP_SCHEMA),
)
