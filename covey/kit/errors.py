"""Domain exceptions. Each carries the HTTP status it maps to; `kit.error_handlers` renders them."""

from __future__ import annotations


class CoveyError(Exception):
    status_code = 500
    error_type = "api_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(CoveyError):
    status_code = 400
    error_type = "invalid_request_error"


class Unauthorized(CoveyError):
    status_code = 401
    error_type = "authentication_error"


class Forbidden(CoveyError):
    status_code = 403
    error_type = "permission_error"


class NotFound(CoveyError):
    status_code = 404
    error_type = "not_found_error"


class Conflict(CoveyError):
    status_code = 409
    error_type = "conflict_error"


class BudgetExceeded(CoveyError):
    status_code = 412
    error_type = "budget_exceeded"


class PayloadTooLarge(CoveyError):
    status_code = 413
    error_type = "request_too_large"


class ServiceUnavailable(CoveyError):
    status_code = 503
    error_type = "service_unavailable"
