"""Approved-model (access) lists: see them all, make one, edit its models per modality, assign it to
groups and keys or take it off, delete an unused one. Org admins write (as in the API); other admins
read. A key's or group's list limits the models its requests may use (docs/design.md §5)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from covey.access import service as access
from covey.access.schemas import AccessListCreate, AccessListUpdate
from covey.admin import grouping
from covey.admin.web import PREFIX, AdminDep, OrgAdminDep, Panel, PanelRoute, page, redirect
from covey.auth.deps import SessionDep
from covey.groups import service as groups
from covey.groups.schemas import GroupUpdate
from covey.keys import service as keys
from covey.keys.schemas import KeyUpdate
from covey.kit.errors import BadRequest
from covey.models import MODALITIES

router = APIRouter(route_class=PanelRoute)

MODALITY_LABELS = {
    "chat": "Chat and completions",
    "embedding": "Embeddings",
    "image": "Images",
    "transcription": "Transcription",
    "speech": "Speech",
}


def models_from(text: str) -> list[str]:
    """One model id a line (commas work too), blanks dropped: `openai/gpt-4o`."""
    return [m.strip() for line in text.splitlines() for m in line.split(",") if m.strip()]


def _fields(form: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": form.get("name", ""),
        "restricted": form.get("restricted") == "true",
        "auto_approve": form.get("auto_approve") == "true",
        **{m: models_from(str(form.get(m, ""))) for m in MODALITIES},
    }


def _uses(session: Any, panel: Panel, list_id: str | None = None) -> tuple[dict[str, list[Any]], dict[str, list[Any]]]:
    """The groups (by path) and the live keys each list is assigned to, as far as the caller sees."""
    visible = groups.list_visible(session, panel.caller)
    paths = grouping.paths(visible)
    by_group: dict[str, list[Any]] = {}
    for g in visible:
        if g.access_list_id and (list_id is None or g.access_list_id == list_id):
            by_group.setdefault(g.access_list_id, []).append({"id": g.id, "path": paths[g.id]})
    by_key: dict[str, list[Any]] = {}
    for k in keys.list_visible(session, panel.caller):
        if k.access_list_id and (list_id is None or k.access_list_id == list_id):
            by_key.setdefault(k.access_list_id, []).append(k)
    for assigned in by_group.values():
        assigned.sort(key=lambda g: g["path"].lower())
    return by_group, by_key


@router.get("/access", include_in_schema=False)
def access_lists(request: Request, panel: AdminDep, session: SessionDep) -> Response:
    by_group, by_key = _uses(session, panel)
    return page(
        request,
        panel,
        "access.html",
        access_lists=sorted(access.list_all(session, panel.caller), key=lambda a: a.name.lower()),
        by_group=by_group,
        by_key=by_key,
        modalities=MODALITY_LABELS,
    )


@router.post("/access", include_in_schema=False)
async def create(request: Request, panel: OrgAdminDep, session: SessionDep) -> Response:
    data = AccessListCreate.model_validate(_fields(dict(await request.form())))
    made = access.create(session, panel.caller, data)
    return redirect(request, f"{PREFIX}/access/{made.id}", f"Created the access list {made.name}.")


@router.get("/access/{list_id}", include_in_schema=False)
def access_list(request: Request, list_id: str, panel: AdminDep, session: SessionDep) -> Response:
    found = access.get(session, panel.caller, list_id)
    by_group, by_key = _uses(session, panel, list_id)
    visible = groups.list_visible(session, panel.caller)
    return page(
        request,
        panel,
        "access_list.html",
        access_list=found,
        groups_using=by_group.get(found.id, []),
        keys_using=by_key.get(found.id, []),
        group_choices=grouping.choices(
            visible, among={g.id for g in visible}, excluding={g["id"] for g in by_group.get(found.id, [])}
        ),
        key_choices=[k for k in keys.list_visible(session, panel.caller) if k.access_list_id != found.id],
        modalities=MODALITY_LABELS,
    )


@router.post("/access/{list_id}", include_in_schema=False)
async def update(request: Request, list_id: str, panel: OrgAdminDep, session: SessionDep) -> Response:
    data = AccessListUpdate.model_validate(_fields(dict(await request.form())))
    saved = access.update(session, panel.caller, list_id, data)
    return redirect(request, f"{PREFIX}/access/{saved.id}", f"Saved the access list {saved.name}.")


@router.post("/access/{list_id}/assign", include_in_schema=False)
def assign(
    request: Request,
    list_id: str,
    panel: OrgAdminDep,
    session: SessionDep,
    group_id: Annotated[str, Form()] = "",
    key_id: Annotated[str, Form()] = "",
    remove: Annotated[bool, Form()] = False,
) -> Response:
    """Puts the list on a group or a key, or (`remove`) takes it off: the group then inherits, the key
    follows its group's list."""
    found = access.get(session, panel.caller, list_id)
    value = None if remove else found.id
    if group_id:
        group = groups.update(session, panel.caller, group_id, GroupUpdate(access_list_id=value))
        paths = grouping.paths(groups.list_visible(session, panel.caller))
        what = paths.get(group.id, group.name)
    elif key_id:
        key = keys.update(session, panel.caller, key_id, KeyUpdate(access_list_id=value))
        what = f"the key {key.name}"
    else:
        raise BadRequest("Pick a group or a key.")
    done = f"Took {found.name} off {what}." if remove else f"{what[:1].upper() + what[1:]} now uses {found.name}."
    return redirect(request, f"{PREFIX}/access/{found.id}", done)


@router.post("/access/{list_id}/delete", include_in_schema=False)
def delete(request: Request, list_id: str, panel: OrgAdminDep, session: SessionDep) -> Response:
    found = access.get(session, panel.caller, list_id)
    name = found.name
    access.delete(session, panel.caller, list_id)
    return redirect(request, f"{PREFIX}/access", f"Deleted the access list {name}.")
