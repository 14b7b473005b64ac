"""Domain errors raised by services; HTTP and Socket.IO translate them in one place each."""


class DomainError(Exception):
    """Base class: `code` is the Socket.IO error code, `status` the HTTP status."""

    code = "internal"
    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unauthorized(DomainError):
    code = "unauthorized"
    status = 401


class Forbidden(DomainError):
    code = "forbidden"
    status = 403


class NotFound(DomainError):
    code = "not_found"
    status = 404


class Conflict(DomainError):
    code = "conflict"
    status = 409


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"


class ValidationFailed(DomainError):
    code = "validation_error"
    status = 422


class RateLimited(DomainError):
    code = "rate_limited"
    status = 429


class Unavailable(DomainError):
    """A dependency (PostgreSQL, Redis) is down or did not answer in time: retry later."""

    code = "unavailable"
    status = 503
