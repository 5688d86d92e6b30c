from __future__ import annotations

from dataclasses import dataclass

from covey.audit.actor import Actor
from covey.auth.permissions import Scope
from covey.kit.errors import Forbidden


@dataclass(frozen=True)
class Caller:
    """Whoever asks the control plane for something: a user through a key (or the panel), a SCIM
    client, or the command line acting for the whole organization."""

    org_id: str
    actor: Actor
    scope: Scope
    key_id: str | None = None
    key_manage: str = "write"

    @property
    def user_id(self) -> str:
        return self.scope.user_id

    def require_org_admin(self, what: str) -> None:
        """The one check for what only the org's owner and admins may do: `what` names it."""
        if not self.scope.is_org_admin:
            raise Forbidden(f"{what} needs the org admin role")

    @classmethod
    def system(cls, org_id: str, label: str = "covey cli") -> Caller:
        """Full rights in one org: the CLI, SCIM provisioning and the demo seed act as this."""
        scope = Scope(user_id="", org_role="owner", memberships={}, parent_of={})
        return cls(org_id=org_id, actor=Actor.system(label), scope=scope)
