"""/docs needs nothing but this server: every script, style sheet and icon it names is
served here (the browser test in tests/e2e/test_swagger_ui.py watches the network too)."""

import re
from urllib.parse import urlsplit

import httpx
import pytest

# src="…", href="…", url: '…' (Swagger's spec URL) and CSS url(…).
REFERENCE = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)|url\s*:\s*'([^']+)'|url\(([^)]+)\)""")


def references(html: str) -> list[str]:
    return [next(part for part in match if part) for match in REFERENCE.findall(html)]


def is_local(url: str) -> bool:
    """A path on this server: no scheme, no host (and not protocol-relative)."""
    parts = urlsplit(url)
    return not parts.scheme and not parts.netloc and url.startswith("/")


async def test_docs_references_only_this_server(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs")
    assert response.status_code == 200
    found = references(response.text)
    assert len(found) >= 4, found  # css, icon, js, the OpenAPI document
    assert [url for url in found if not is_local(url)] == []
    assert "validatorUrl" in response.text  # no badge fetched from the public validator
    assert "http://" not in response.text and "https://" not in response.text


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/static/vendor/swagger-ui/swagger-ui-bundle.js", "text/javascript"),
        ("/static/vendor/swagger-ui/swagger-ui.css", "text/css"),
        ("/static/icon.svg", "image/svg+xml"),
        ("/openapi.json", "application/json"),
    ],
)
async def test_every_asset_of_docs_is_served(
    client: httpx.AsyncClient, path: str, content_type: str
) -> None:
    page = await client.get("/docs")
    assert path in references(page.text)
    response = await client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(content_type)


async def test_the_stylesheet_loads_nothing_from_elsewhere(client: httpx.AsyncClient) -> None:
    css = (await client.get("/static/vendor/swagger-ui/swagger-ui.css")).text
    external = [url for url in references(css) if not url.strip("'\"").startswith("data:")]
    assert external == []


async def test_oauth2_redirect_page_is_self_contained(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs/oauth2-redirect")
    assert response.status_code == 200
    assert references(response.text) == []


async def test_redoc_is_not_served(client: httpx.AsyncClient) -> None:
    """Its FastAPI page loads ReDoc and fonts from CDNs; Swagger UI is the one docs page."""
    assert (await client.get("/redoc")).status_code == 404
