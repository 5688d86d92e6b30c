"""`covey demo`: build Acme Corp once; on later runs, only hand out fresh credentials for it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from covey.access import service as access
from covey.access.schemas import AccessListCreate
from covey.auth.caller import Caller
from covey.demo.roster import ACCESS_LISTS, GROUPS, KEYS, ORG_NAME, PEOPLE
from covey.demo.traffic import record_past_traffic
from covey.groups import repository as groups_repo
from covey.groups import service as groups
from covey.groups.schemas import GroupCreate, GroupUpdate
from covey.keys import service as keys
from covey.keys.schemas import KeyCreate
from covey.kit.clock import utcnow
from covey.kit.errors import Conflict
from covey.models import ApiKey, Organization, User
from covey.orgs import repository as orgs
from covey.orgs.bootstrap import admin_key, create_org
from covey.users import repository as users_repo
from covey.users import service as users
from covey.users.schemas import UserCreate

LABEL = "covey demo"


@dataclass(frozen=True)
class Seeded:
    created: bool  # False: the organization was already there and only the credentials are new
    org: Organization
    owner: User
    password: str
    api_key: str
    api_key_id: str


def seed(session: Session) -> Seeded:
    found = orgs.by_name(session, ORG_NAME)
    if found:
        return _fresh_credentials(session, found[0])
    owner_spec = PEOPLE[0]
    made = create_org(session, name=ORG_NAME, owner_email=owner_spec.email, owner_name=owner_spec.name)
    caller = Caller.system(made.org.id, label=LABEL)
    group_ids = _build_tree(session, caller)
    user_ids = {owner_spec.name: made.owner.id}
    # The owner was made before the default group existed; everyone after joins it on creation.
    for group in GROUPS:
        if group.default:
            groups.add_member(session, caller, group_ids[group.path], user_id=made.owner.id, role="member")
    for person in PEOPLE[1:]:
        user = users.create(
            session,
            caller,
            UserCreate(email=person.email, name=person.name, role=person.role, monthly_limit=person.monthly_limit),
        )
        user_ids[person.name] = user.id
    for person in PEOPLE:
        for path, role in person.groups.items():
            groups.add_member(session, caller, group_ids[path], user_id=user_ids[person.name], role=role)
    made_keys: dict[str, ApiKey] = {}
    for spec in KEYS:
        made_keys[spec.name], _secret = keys.create(
            session,
            caller,
            KeyCreate(
                name=spec.name,
                owner_id=user_ids[spec.owner],
                group_id=group_ids[spec.group] if spec.group else None,
                monthly_limit=spec.monthly_limit,
                labels=spec.labels or None,
            ),
        )
    for listed in ACCESS_LISTS:
        made_list = access.create(
            session,
            caller,
            AccessListCreate(name=listed.name, chat=list(listed.chat), embedding=list(listed.embedding)),
        )
        for path in listed.groups:
            groups.update(session, caller, group_ids[path], GroupUpdate(access_list_id=made_list.id))
    parent_of = groups_repo.parent_map(session, org_id=made.org.id)
    record_past_traffic(session, keys=made_keys, parent_of=parent_of, now=utcnow())
    return Seeded(
        created=True,
        org=made.org,
        owner=made.owner,
        password=made.password,
        api_key=made.api_key,
        api_key_id=made.api_key_id,
    )


def _build_tree(session: Session, caller: Caller) -> dict[str, str]:
    ids: dict[str, str] = {}
    for spec in GROUPS:
        group = groups.create(
            session,
            caller,
            GroupCreate(
                name=spec.name,
                parent_id=ids[spec.parent_path] if spec.parent_path else None,
                kind=spec.kind,
                description=spec.description,
                default=spec.default,
                monthly_budget=spec.monthly_budget,
                monthly_budget_per_user=spec.monthly_budget_per_user,
            ),
        )
        ids[spec.path] = group.id
    return ids


def _fresh_credentials(session: Session, org: Organization) -> Seeded:
    caller = Caller.system(org.id, label=LABEL)
    owner = users_repo.get_by_email(session, org_id=org.id, email=PEOPLE[0].email)
    if owner is None:
        raise Conflict(f"the organization {ORG_NAME} has no user {PEOPLE[0].email} any more to sign in as")
    owner, password = users.reset_password(session, caller, owner.id)
    key, secret = admin_key(session, caller, owner, name="admin")
    return Seeded(created=False, org=org, owner=owner, password=password, api_key=secret, api_key_id=key.id)
