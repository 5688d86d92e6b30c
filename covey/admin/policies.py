"""Panel forms for what acts on a group's or a key's requests: rate limits, guardrails and automatic
caching. Every change goes through the groups and keys services, with the caller's rights."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from covey.admin.web import PREFIX, AdminDep, PanelDep, PanelRoute, redirect
from covey.auth.deps import SessionDep
from covey.groups import service as groups
from covey.groups.schemas import GroupUpdate
from covey.guardrails.schemas import CATEGORIES
from covey.keys import service as keys
from covey.keys.schemas import KeyUpdate
from covey.kit.errors import BadRequest
from covey.ratelimits.rules import KINDS

router = APIRouter(route_class=PanelRoute)


async def _form(request: Request) -> dict[str, str]:
    return {k: v for k, v in (await request.form()).items() if isinstance(v, str)}


FormDep = Annotated[dict[str, str], Depends(_form)]


def limits_from(form: dict[str, str], prefix: str) -> dict[str, int]:
    """`{prefix}requests_per_minute` … as numbers; empty means no limit (0)."""
    out = {}
    for kind in KINDS:
        raw = form.get(prefix + kind, "").strip().replace(",", "").replace("_", "")
        if raw and not raw.isdigit():
            raise BadRequest(f"{kind}: {raw!r} is not a whole number")
        out[kind] = int(raw) if raw else 0
    return out


def guardrails_from(form: dict[str, str]) -> dict[str, str]:
    return {c: form[f"guardrail_{c}"] for c in CATEGORIES if form.get(f"guardrail_{c}") in ("off", "mask", "block")}


def with_caching(features: dict[str, Any] | None, form: dict[str, str]) -> dict[str, bool] | None:
    """The owner's features with `auto_caching` as the form's `auto_caching` says (inherit, on, off);
    None when the form does not say, so the features are left as they are."""
    choice = form.get("auto_caching")
    if choice not in ("inherit", "on", "off"):
        return None
    switches = {k: bool(v) for k, v in (features or {}).items() if k != "auto_caching"}
    return switches if choice == "inherit" else {**switches, "auto_caching": choice == "on"}


@router.post("/groups/{group_id}/policies", include_in_schema=False)
def group_policies(request: Request, group_id: str, panel: AdminDep, session: SessionDep, form: FormDep) -> Response:
    fields: dict[str, Any] = {
        "rate_limits": limits_from(form, ""),
        "rate_limits_per_member": limits_from(form, "member_"),
        "guardrails": guardrails_from(form),
    }
    if "auto_caching" in form:
        fields["features"] = with_caching(groups.get_readable(session, panel.caller, group_id).features, form)
    group = groups.update(session, panel.caller, group_id, GroupUpdate.model_validate(fields))
    return redirect(request, f"{PREFIX}/groups/{group.id}#policies", "Saved the rate limits, guardrails and caching.")


@router.post("/keys/{key_id}/policies", include_in_schema=False)
def key_policies(request: Request, key_id: str, panel: PanelDep, session: SessionDep, form: FormDep) -> Response:
    key = keys.get_visible(session, panel.caller, key_id)
    fields: dict[str, Any] = {"rate_limits": limits_from(form, ""), "guardrails": guardrails_from(form)}
    features = with_caching(key.features, form)
    if features is not None:
        fields["features"] = features
    updated = keys.update(session, panel.caller, key_id, KeyUpdate.model_validate(fields))
    return redirect(request, f"{PREFIX}/keys", f'Saved the rate limits, guardrails and caching of "{updated.name}".')
