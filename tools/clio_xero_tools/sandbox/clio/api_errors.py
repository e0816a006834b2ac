"""Errors the handlers raise; the app turns them into Clio's ``{"error":{"type","message"}}`` body.

UNCONFIRMED: the ``type`` strings. Clio documents the body shape but not a list of type names;
these are the names seen in public client code and error reports (``ArgumentError`` for the
offset cap is in docs/facts-clio.md#rest). Clients should branch on the HTTP status, not on ``type``.
"""

from __future__ import annotations


class ApiError(Exception):
    def __init__(self, status: int, type_: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.type = type_
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict[str, object]:
        return {"error": {"type": self.type, "message": self.message}}


def bad_request(message: str) -> ApiError:
    return ApiError(400, "ArgumentError", message)


def not_found(resource: str, record_id: object) -> ApiError:
    return ApiError(404, "RecordNotFound", f"Couldn't find {resource} with 'id'={record_id}")


def unprocessable(message: str) -> ApiError:
    return ApiError(422, "RecordInvalid", message)


def precondition_failed() -> ApiError:
    return ApiError(412, "PreconditionFailed", "The resource has been modified since the ETag was issued")


def forbidden(message: str) -> ApiError:
    return ApiError(403, "Forbidden", message)
