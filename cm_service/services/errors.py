"""Domain outcomes that views and the API translate into responses."""

from __future__ import annotations


class CMError(Exception):
    """Base of every expected failure a person can cause; never a 500."""

    status = 400
    code = "error"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(CMError):
    """Missing, or outside the actor's clinic: indistinguishable on purpose."""

    status = 404
    code = "not_found"


class Forbidden(CMError):
    status = 403
    code = "forbidden"


class InvalidInput(CMError):
    status = 422
    code = "invalid_input"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, field)


class Conflict(CMError):
    status = 409

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message, field)
        self.code = code
