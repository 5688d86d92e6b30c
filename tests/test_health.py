from fastapi.testclient import TestClient

from tests.conftest import Org


def test_healthz_and_readyz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"] == "ok"
    assert ready.json()["checks"]["usage_writer"] == "ok"


def test_unknown_path_answers_in_the_envelope(client: TestClient, org: Org) -> None:
    response = org.admin.get("/v1/manage/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["origin"] == "router"
    # Without a credential, the management API says so before it says what exists.
    anonymous = client.get("/v1/manage/nothing-here")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["origin"] == "router"
