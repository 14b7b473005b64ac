"""The API's own documentation: Swagger UI served from static/vendor (no CDN), the
OpenAPI description and tags, and the AsyncAPI document of the Socket.IO protocol."""

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, Response

from chat_server.realtime.asyncapi import asyncapi_yaml

DOCS_URL = "/docs"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
ASYNCAPI_URL = "/asyncapi.yaml"
SWAGGER_ASSETS = "/static/vendor/swagger-ui"

DESCRIPTION = f"""
Private chats and groups, every message stored once, read ticks that tell the truth,
history you can page through. This REST API and a Socket.IO protocol share one port.

## Log in

1. `POST /auth/register` with a name, an email and a password, or use a demo user
   (`alice@example.com` / `password123` once `python -m chat_server seed` has run).
2. `POST /auth/login` (JSON) or `POST /auth/token` (the OAuth2 password form,
   `username` = email) answers `{{"access_token": "…", "token_type": "bearer"}}`: a JWT
   that expires after `JWT_EXPIRE_MINUTES` (a day by default).
3. Send it on every other call as `Authorization: Bearer <token>`.

Here: press **Authorize**, give the email as `username` and the password, then
**Try it out** on any operation sends the token for you.

## Real time

Connect a Socket.IO client to this server (path `/socket.io`) with
`auth: {{"token": "<token>"}}` to send messages, mark them read and hear everything
that happens in your chats as it happens. Every event, payload and acknowledgement is
in the [AsyncAPI document]({ASYNCAPI_URL}).

## Conventions

* Errors are `{{"detail": "…"}}`: 401 missing or bad token, 403 not allowed, 404 not
  found *or not a member* (the two look the same), 409 conflict, 422 invalid input
  (`detail` is then a list of problems), 429 rate limited (with `Retry-After`).
* Ids are numbers, `client_msg_id` a UUID, times ISO 8601 in UTC.
* Each chat numbers its messages 1, 2, 3 … (`seq`, no gaps) and every change to them
  (send, edit, delete, reaction) 1, 2, 3 … too (`pts`: catch up with
  `GET /history/{{chat_id}}?changed_after_pts=`); read status is a per-member watermark,
  `last_read_seq`.
* Sending is idempotent: retry with the same `client_msg_id` (or `Idempotency-Key`)
  and you get the message stored the first time, never a second copy.
"""

TAGS = [
    {
        "name": "auth",
        "description": "Create an account and exchange email and password for a bearer token.",
    },
    {"name": "users", "description": "Who you are, and finding people to talk to."},
    {
        "name": "chats",
        "description": "Your chat list with unread counts, private chats (one per pair of "
        "people) and a chat's members with how far each has read.",
    },
    {
        "name": "groups",
        "description": "Group chats: create, rename and delete (the creator), add and "
        "remove members, leave.",
    },
    {
        "name": "messages",
        "description": "Send (idempotently, optionally as a reply), edit, delete for "
        "everyone, react, mark read, page through history and catch up on changes; the "
        "same actions exist as Socket.IO events, which also deliver them live.",
    },
    {
        "name": "search",
        "description": "Find messages in your chats by words and word beginnings, in any "
        "language, newest first.",
    },
    {"name": "health", "description": "Liveness and readiness probes for orchestrators."},
]


def install_api_docs(app: FastAPI) -> None:
    """/docs, its OAuth2 redirect page and /asyncapi.yaml. Create the app with
    `docs_url=None, redoc_url=None` so FastAPI's CDN-loading pages are not added too."""

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_swagger_ui_html(
            openapi_url=root + (app.openapi_url or "/openapi.json"),
            title=f"{app.title} - API docs",
            swagger_js_url=f"{root}{SWAGGER_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{SWAGGER_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}/static/icon.svg",
            oauth2_redirect_url=root + OAUTH2_REDIRECT_URL,
            # No badge from the public validator: it would send the spec's URL away.
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    document = asyncapi_yaml()

    @app.get(ASYNCAPI_URL, include_in_schema=False)
    async def asyncapi() -> Response:
        """The Socket.IO protocol (AsyncAPI 3.0), the same as docs/asyncapi.yaml."""
        return Response(document, media_type="application/yaml")
