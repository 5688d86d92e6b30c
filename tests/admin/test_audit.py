"""The panel's audit log: a search over parts of action names and names, membership rows in words."""

from __future__ import annotations

import re
import uuid

from tests.admin.conftest import PanelSession
from tests.conftest import Org


def _rows(panel: PanelSession, q: str) -> list[str]:
    page = panel.get("/admin/audit", params={"q": q})
    assert page.status_code == 200
    body = page.text.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in page.text else ""
    # Each row as read, less the raw change under "details".
    body = re.sub(r"<details>.*?</details>", "", body, flags=re.S)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip() for row in body.split("</tr>") if "<td" in row]


def test_member_rows_name_the_person_and_the_group_by_path(owner_panel: PanelSession, org: Org) -> None:
    tag = uuid.uuid4().hex[:6]
    engineering = org.group(f"Engineering {tag}")
    backend = org.group("Backend", parent_id=engineering)
    person = org.user(f"ana-{tag}@example.com", name="Ana Ruiz")
    org.add_member(backend, person)
    moved = org.admin.post(f"/v1/manage/group/{backend}/member/{person}/move", json={"to_group_id": engineering})
    assert moved.status_code == 200, moved.text
    rows = _rows(owner_panel, "member")
    assert any(f"Ana Ruiz added to Engineering {tag} › Backend as member" in r for r in rows), rows
    assert any(f"Ana Ruiz moved from Engineering {tag} › Backend to Engineering {tag}" in r for r in rows), rows
    assert not any(person in r for r in rows)
    assert all("group.member." in r for r in rows)


def test_the_search_matches_parts_of_actions_and_names(owner_panel: PanelSession, org: Org) -> None:
    tag = uuid.uuid4().hex[:6]
    group = org.group(f"Searchable {tag}")
    person = org.user(f"bo-{tag}@example.com", name=f"Bo {tag}")
    org.add_member(group, person)
    org.key(name=f"key-{tag}")
    created = _rows(owner_panel, "apikey.cre")
    assert created and all("apikey.create" in r for r in created)
    assert any(f"key-{tag}" in r for r in created)
    # A group's name finds its creation and the membership; a person's name finds them too.
    by_group = _rows(owner_panel, f"searchable {tag}")
    assert {"group.create", "group.member.add"} <= {a for r in by_group for a in re.findall(r"group\.[a-z.]+", r)}
    by_person = _rows(owner_panel, f"Bo {tag}")
    assert any(f"Bo {tag} added to Searchable {tag}" in r for r in by_person)
    assert any("user.create" in r for r in by_person)
    # Wildcards are plain characters.
    assert _rows(owner_panel, "%") == []
    assert _rows(owner_panel, "_") == [] or all("_" in r for r in _rows(owner_panel, "_"))
