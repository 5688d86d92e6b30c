from __future__ import annotations

from typing import Any

from covey.groups import service
from covey.kit.db import Database
from tests.conftest import Org


def test_find_by_path_walks_names_from_the_top(org: Org, new_org: Any, db: Database) -> None:
    eng = org.group("Engineering")
    backend = org.group("Backend Engineers", parent_id=eng)
    org.group("Backend Engineers")  # the same name at the top level is another group
    elsewhere = new_org("Elsewhere")
    with db.transaction() as session:

        def find(path: str) -> str | None:
            found = service.find_by_path(session, org_id=org.id, path=path)
            return found.id if found else None

        assert find("Engineering/Backend Engineers") == backend
        assert find(" engineering / backend engineers/") == backend
        assert find("Engineering") == eng
        assert find("Backend Engineers") not in (None, backend)
        assert find("Engineering/Frontend") is None
        assert find("Backend Engineers/Engineering") is None
        assert find("") is None and find("Engineering//Backend Engineers") is None
        # Another organization's tree is not searched.
        assert service.find_by_path(session, org_id=elsewhere.id, path="Engineering") is None
