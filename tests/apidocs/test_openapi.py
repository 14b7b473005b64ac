"""Swagger UI, the OpenAPI document against docs/protocol.md, and the health probes."""

import re
from typing import Any

import httpx
import pytest

# Every REST route of docs/protocol.md (path parameter names do not matter).
DESIGN_ROUTES = {
    ("post", "/auth/register"),
    ("post", "/auth/token"),
    ("post", "/auth/login"),
    ("get", "/users/me"),
    ("get", "/users"),
    ("get", "/chats"),
    ("post", "/chats/private"),
    ("get", "/chats/{}"),
    ("post", "/groups"),
    ("get", "/groups/{}"),
    ("patch", "/groups/{}"),
    ("delete", "/groups/{}"),
    ("post", "/groups/{}/members"),
    ("delete", "/groups/{}/members/{}"),
    ("get", "/history/{}"),
    ("post", "/chats/{}/messages"),
    ("post", "/chats/{}/read"),
    ("patch", "/chats/{}/messages/{}"),
    ("delete", "/chats/{}/messages/{}"),
    ("put", "/chats/{}/messages/{}/reaction"),
    ("delete", "/chats/{}/messages/{}/reaction"),
    ("get", "/health"),
    ("get", "/ready"),
}
PUBLIC_ROUTES = {
    ("post", "/auth/register"),
    ("post", "/auth/token"),
    ("post", "/auth/login"),
    ("get", "/health"),
    ("get", "/ready"),
}
HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


def normalise(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


@pytest.fixture
async def spec(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def operations(spec: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, normalise(path)): operation
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    }


async def test_docs_serves_swagger_ui(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "swagger-ui" in response.text.lower()
    assert "/openapi.json" in response.text


async def test_openapi_lists_every_route_of_the_design(spec: dict[str, Any]) -> None:
    missing = DESIGN_ROUTES - set(operations(spec))
    assert not missing, f"routes of docs/protocol.md missing from /openapi.json: {sorted(missing)}"


async def test_every_operation_has_tags_and_a_summary(spec: dict[str, Any]) -> None:
    for route, operation in operations(spec).items():
        assert operation.get("tags"), route
        assert operation.get("summary"), route


async def test_every_protected_operation_documents_401_and_bearer_security(
    spec: dict[str, Any],
) -> None:
    for route, operation in operations(spec).items():
        if route in PUBLIC_ROUTES:
            continue
        assert "401" in operation["responses"], route
        assert operation.get("security"), route


async def test_chat_and_group_scoped_operations_document_404(spec: dict[str, Any]) -> None:
    scoped = [
        route
        for route in operations(spec)
        if route[1].startswith(("/chats/{}", "/groups/{}", "/history/{}"))
    ]
    assert len(scoped) >= 9
    for route in scoped:
        assert "404" in operations(spec)[route]["responses"], route


@pytest.mark.parametrize(
    ("route", "statuses"),
    [
        (("post", "/auth/register"), {"201", "409", "422"}),
        (("post", "/auth/login"), {"200", "401", "422"}),
        (("post", "/chats/private"), {"200", "201", "404", "422"}),
        (("patch", "/groups/{}"), {"200", "403", "404", "422"}),
        (("delete", "/groups/{}"), {"204", "403", "404"}),
        (("post", "/groups/{}/members"), {"201", "403", "404", "409"}),
        (("delete", "/groups/{}/members/{}"), {"204", "403", "404", "409"}),
        (("post", "/chats/{}/messages"), {"200", "201", "404", "409", "422"}),
        (("get", "/history/{}"), {"200", "404", "422"}),
    ],
)
async def test_operations_document_their_success_and_error_statuses(
    spec: dict[str, Any], route: tuple[str, str], statuses: set[str]
) -> None:
    documented = set(operations(spec)[route]["responses"])
    assert statuses <= documented, f"{route} lacks {sorted(statuses - documented)}"


async def test_authorize_button_uses_the_token_endpoint(spec: dict[str, Any]) -> None:
    schemes = spec["components"]["securitySchemes"]
    flows = [s["flows"]["password"] for s in schemes.values() if s.get("type") == "oauth2"]
    assert [flow["tokenUrl"] for flow in flows] == ["/auth/token"]


async def test_history_documents_the_total_count_and_paging_parameters(
    spec: dict[str, Any],
) -> None:
    operation = operations(spec)[("get", "/history/{}")]
    names = {p["name"] for p in operation["parameters"]}
    assert {"limit", "offset", "after_seq", "before_seq"} <= names


async def test_health_answers_200(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_answers_200_when_the_database_is_up(client: httpx.AsyncClient) -> None:
    response = await client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "unused"}
