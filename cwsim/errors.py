"""What the backend refuses, independent of HTTP: the REST handlers answer ConnectWise's error shape,
the console and /_cwsim their own."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable


@dataclass(frozen=True)
class FieldError:
    """One entry of ConnectWise's ``errors[]``."""

    code: str
    message: str
    field: str
    resource: str = ""

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message, "resource": self.resource, "field": self.field}


class BackendError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class Invalid(BackendError):
    """The request breaks a rule (HTTP 400)."""

    def __init__(self, message: str, errors: Iterable[FieldError] = ()):
        super().__init__(message)
        self.errors = list(errors)


class NotFound(BackendError):
    """A record the request names does not exist (HTTP 404)."""


class Exists(BackendError):
    """The record to create exists already (HTTP 409 on the admin API)."""


class Denied(BackendError):
    """The caller's security role lacks a permission (HTTP 403)."""


__all__ = ["BackendError", "Denied", "Exists", "FieldError", "Invalid", "NotFound"]
