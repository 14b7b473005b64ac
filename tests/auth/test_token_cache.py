"""security.user_id_from_token keeps the tokens it verified: a token is checked in full
once, its expiry on every use; only verified tokens enter, under their secret."""

import time
from typing import Any

import pytest
from jose import jwt

from chat_server import security
from chat_server.config import Settings
from chat_server.errors import Unauthorized
from chat_server.security import user_id_from_token

SECRET = "cache-test-secret-" + "a" * 40
OTHER_SECRET = "cache-test-other-secret-" + "b" * 40


def settings_with(secret: str) -> Settings:
    return Settings(_env_file=None, jwt_secret=secret)  # type: ignore[call-arg]


def signed(user_id: int, exp: int, secret: str = SECRET) -> str:
    token: str = jwt.encode({"sub": str(user_id), "exp": exp}, secret, algorithm="HS256")
    return token


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tokens jwt.decode checked in full, from now on."""
    checked: list[str] = []
    decode = jwt.decode

    def counting(token: str, *args: Any, **kwargs: Any) -> Any:
        checked.append(token)
        return decode(token, *args, **kwargs)

    monkeypatch.setattr(security.jwt, "decode", counting)
    return checked


def test_a_token_is_checked_in_full_once_while_it_is_valid(decodes: list[str]) -> None:
    token = signed(7, int(time.time()) + 600)
    settings = settings_with(SECRET)
    assert [user_id_from_token(settings, token) for _ in range(3)] == [7, 7, 7]
    assert decodes == [token]


def test_a_kept_token_is_refused_once_it_expires(decodes: list[str]) -> None:
    expires = int(time.time()) + 1
    token = signed(8, expires)
    settings = settings_with(SECRET)
    assert user_id_from_token(settings, token) == 8
    assert user_id_from_token(settings, token) == 8
    assert decodes == [token]
    # Past exp (jose allows the second of exp itself), with the token still kept.
    time.sleep(max(0.0, expires + 1.05 - time.time()))
    assert (SECRET, token) in security._verified
    with pytest.raises(Unauthorized):
        user_id_from_token(settings, token)
    assert decodes == [token, token]


def test_a_token_signed_with_another_secret_never_enters(decodes: list[str]) -> None:
    forged = signed(9, int(time.time()) + 600, secret=OTHER_SECRET)
    settings = settings_with(SECRET)
    for _ in range(2):
        with pytest.raises(Unauthorized):
            user_id_from_token(settings, forged)
    assert decodes == [forged, forged]
    assert all(token != forged for _, token in security._verified)


def test_a_token_kept_under_one_secret_is_checked_again_under_another() -> None:
    token = signed(10, int(time.time()) + 600)
    assert user_id_from_token(settings_with(SECRET), token) == 10
    with pytest.raises(Unauthorized):
        user_id_from_token(settings_with(OTHER_SECRET), token)


def test_garbage_and_expired_tokens_never_enter() -> None:
    settings = settings_with(SECRET)
    before = dict(security._verified)
    for token in ("", "garbage", "a.b.c", signed(11, int(time.time()) - 60)):
        with pytest.raises(Unauthorized):
            user_id_from_token(settings, token)
    assert security._verified == before


def test_the_kept_tokens_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(security, "_verified", {})
    monkeypatch.setattr(security, "VERIFIED_TOKENS_KEPT", 3)
    settings = settings_with(SECRET)
    tokens = [signed(user_id, int(time.time()) + 600) for user_id in range(1, 6)]
    assert [user_id_from_token(settings, token) for token in tokens] == [1, 2, 3, 4, 5]
    assert [token for _, token in security._verified] == tokens[2:]  # the newest three
    assert user_id_from_token(settings, tokens[0]) == 1  # checked in full again
