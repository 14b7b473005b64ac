"""Auth routes: register, token (OAuth2 form, for Swagger), login (JSON)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from chat_server.auth import service
from chat_server.auth.schemas import LoginIn, TokenOut
from chat_server.deps import RuntimeDep, SessionDep
from chat_server.http_errors import error_responses
from chat_server.users.schemas import UserCreate, UserOut

router = APIRouter(prefix="/auth", tags=["auth"])


def client_address(request: Request) -> str:
    # uvicorn puts the real client here when FORWARDED_ALLOW_IPS trusts the proxy.
    return request.client.host if request.client else "unknown"


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    summary="Create an account",
    responses=error_responses(409, 422, 429, conflict="this email is already registered"),
)
async def register(
    body: UserCreate, request: Request, session: SessionDep, runtime: RuntimeDep
) -> UserOut:
    """Register with a name, an email (unique, case-insensitive) and an 8 to 128 character
    password. The password is stored only as an argon2 hash."""
    user = await service.register(
        session=session,
        settings=runtime.settings,
        rate_limiter=runtime.rate_limiter,
        client_address=client_address(request),
        name=body.name,
        email=str(body.email),
        password=body.password,
    )
    return UserOut.model_validate(user)


@router.post(
    "/token",
    summary="Log in with the OAuth2 password form",
    responses=error_responses(401, 422, 429),
    # The form's fields come from OAuth2PasswordRequestForm; its example goes here.
    openapi_extra={
        "requestBody": {
            "content": {
                "application/x-www-form-urlencoded": {
                    "example": {"username": "alice@example.com", "password": "password123"}
                }
            }
        }
    },
)
async def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
) -> TokenOut:
    """OAuth2 password flow: `username` is your email; `grant_type`, `scope` and the client
    fields may be left out. Swagger's Authorize button logs in here."""
    access_token = await service.login(
        session=session,
        settings=runtime.settings,
        rate_limiter=runtime.rate_limiter,
        client_address=client_address(request),
        email=form.username,
        password=form.password,
    )
    return TokenOut(access_token=access_token)


@router.post("/login", summary="Log in with JSON", responses=error_responses(401, 422, 429))
async def login(
    body: LoginIn, request: Request, session: SessionDep, runtime: RuntimeDep
) -> TokenOut:
    """Exchange an email and password for a bearer token (JWT, HS256, expires)."""
    access_token = await service.login(
        session=session,
        settings=runtime.settings,
        rate_limiter=runtime.rate_limiter,
        client_address=client_address(request),
        email=str(body.email),
        password=body.password,
    )
    return TokenOut(access_token=access_token)
