"""`covey limits …`: rate limits (requests and tokens per minute, concurrent requests) and guardrails on
a key, a user, a group (its subtree, or each member), a member in a group, or the organization."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from covey.auth.caller import Caller
from covey.cli.context import JsonOption, OrgOption, acting, fail
from covey.cli.lookup import find_group, find_user
from covey.cli.output import emit_json
from covey.groups import service as groups
from covey.groups.schemas import GroupUpdate
from covey.keys import service as keys
from covey.keys.schemas import KeyUpdate
from covey.orgs import service as orgs
from covey.orgs.schemas import OrgUpdate
from covey.ratelimits.schemas import RateLimitsOut
from covey.users import service as users
from covey.users.schemas import UserUpdate

app = typer.Typer(help="Rate limits and guardrails on keys, users, groups and the organization.", no_args_is_help=True)

TARGETS = "key:ID | user:USER | group:GROUP | members:GROUP (each member) | member:GROUP:USER | org"
Target = Annotated[str, typer.Argument(metavar="TARGET", help=TARGETS)]
Amount = Annotated[int | None, typer.Option(min=0, help="0 removes the limit.")]


def _set(session: Session, caller: Caller, target: str, fields: dict[str, Any], guardrails: dict[str, str]) -> Any:
    kind, _, ref = target.partition(":")
    if kind == "member":
        group_ref, _, user_ref = ref.rpartition(":")
        if set(fields) - {"requests_per_minute"} or guardrails:
            fail("a member's own limit is requests per minute only (set the rest with members:GROUP)")
        group = find_group(session, caller, group_ref)
        user = find_user(session, caller, user_ref)
        rpm = fields.get("requests_per_minute")
        membership = groups.set_member_rate_limit(session, caller, group.id, user_id=user.id, rate_limit=rpm)
        return {"rate_limit": membership.rate_limit}
    body: dict[str, Any] = {"rate_limits": fields} if fields else {}
    if kind == "key":
        key = keys.update(session, caller, ref, KeyUpdate.model_validate(body | _guard(guardrails)))
        return {"rate_limits": RateLimitsOut.of(key.rate_limits).model_dump(), "guardrails": key.guardrails or {}}
    if kind == "user":
        if guardrails:
            fail("guardrails are set on the org, a group or a key")
        user = users.update(session, caller, find_user(session, caller, ref).id, UserUpdate.model_validate(body))
        return {"rate_limits": RateLimitsOut.of(user.rate_limits).model_dump()}
    if kind in ("group", "members"):
        group = find_group(session, caller, ref)
        name = "rate_limits" if kind == "group" else "rate_limits_per_member"
        update = {name: fields} if fields else {}
        changed = groups.update(session, caller, group.id, GroupUpdate.model_validate(update | _guard(guardrails)))
        return {
            "rate_limits": RateLimitsOut.of(changed.rate_limits).model_dump(),
            "rate_limits_per_member": RateLimitsOut.of(changed.rate_limits_per_member).model_dump(),
            "guardrails": changed.guardrails or {},
        }
    if kind == "org":
        org = orgs.update(session, caller, OrgUpdate.model_validate(body | _guard(guardrails)))
        return {"rate_limits": RateLimitsOut.of(org.rate_limits).model_dump(), "guardrails": org.guardrails or {}}
    fail(f"TARGET must be one of {TARGETS}")


def _guard(guardrails: dict[str, str]) -> dict[str, Any]:
    return {"guardrails": guardrails} if guardrails else {}


@app.command("set")
def set_limits(
    target: Target,
    rpm: Annotated[int | None, typer.Option("--rpm", min=0, help="Requests per minute; 0 removes it.")] = None,
    tpm: Annotated[int | None, typer.Option("--tpm", min=0, help="Tokens per minute; 0 removes it.")] = None,
    concurrent: Annotated[
        int | None, typer.Option("--concurrent", min=0, help="Requests in flight at once; 0 removes it.")
    ] = None,
    guardrail: Annotated[
        list[str] | None,
        typer.Option(
            "--guardrail",
            metavar="CATEGORY=MODE",
            help="pii, secrets or financial = mask, block or off (repeatable)",
        ),
    ] = None,
    org: OrgOption = None,
    as_json: JsonOption = False,
) -> None:
    """Set what is named; what is not named keeps its value."""
    fields = {
        k: v
        for k, v in (("requests_per_minute", rpm), ("tokens_per_minute", tpm), ("concurrent", concurrent))
        if v is not None
    }
    guardrails = {}
    for item in guardrail or []:
        category, sep, mode = item.partition("=")
        if not sep:
            fail(f"--guardrail {item}: write CATEGORY=MODE, e.g. pii=mask")
        guardrails[category.strip()] = mode.strip()
    if not fields and not guardrails:
        fail("name a limit (--rpm, --tpm, --concurrent) or a --guardrail to set")
    with acting(org) as (session, caller):
        result = _set(session, caller, target, fields, guardrails)
    if as_json:
        emit_json(result)
        return
    for name, value in result.items():
        typer.echo(f"{name}: {value}")
