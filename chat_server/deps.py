"""FastAPI dependencies: the runtime, a per-request session, the current user."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from chat_server.auth.service import authenticate
from chat_server.errors import Unauthorized
from chat_server.runtime import Runtime
from chat_server.security import user_id_from_token
from chat_server.users.models import User

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)


async def get_runtime(request: Request) -> Runtime:
    # async: FastAPI runs a plain `def` dependency in its thread pool, a hop per request.
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_session(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    # Services commit; this teardown only closes (it runs after the response is sent).
    async with runtime.sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


async def get_current_user(
    runtime: RuntimeDep,
    session: SessionDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> User:
    if not token:
        raise Unauthorized("not authenticated")
    user = await authenticate(session=session, settings=runtime.settings, token=token)
    # End the read transaction: its connection goes back to the pool instead of idling
    # in a transaction while the route works (the send path takes a connection of its own).
    await session.commit()
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


async def get_current_user_id(
    runtime: RuntimeDep, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> int:
    """The token's user id, without looking the user up: for routes whose one statement
    checks the caller's access anyway (and says 401 when the user is gone)."""
    if not token:
        raise Unauthorized("not authenticated")
    return user_id_from_token(runtime.settings, token)


CurrentUserId = Annotated[int, Depends(get_current_user_id)]
