"""PayPal's error bodies: the REST v2 shape, the OAuth shape and the older v1 validation shape.

A client classifies failures by ``name`` and ``details[].issue``, so every failure the emulator
produces goes through this module and carries a ``debug_id`` (also sent as ``PayPal-Debug-Id``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.emulators.paypal.ids import debug_id

# status -> (name, message), as in the ``error_4xx``/``error_5xx`` schemas of the OpenAPI files.
ERROR_NAMES: dict[int, tuple[str, str]] = {
    400: ("INVALID_REQUEST", "Request is not well-formed, syntactically incorrect, or violates schema."),
    401: (
        "AUTHENTICATION_FAILURE",
        "Authentication failed due to missing authorization header, or invalid authentication credentials.",
    ),
    403: ("NOT_AUTHORIZED", "Authorization failed due to insufficient permissions."),
    404: ("RESOURCE_NOT_FOUND", "The specified resource does not exist."),
    409: ("RESOURCE_CONFLICT", "The server has detected a conflict while processing this request."),
    415: ("UNSUPPORTED_MEDIA_TYPE", "The server does not support the request payload's media type."),
    422: (
        "UNPROCESSABLE_ENTITY",
        "The requested action could not be performed, semantically incorrect, or failed business validation.",
    ),
    429: ("RATE_LIMIT_REACHED", "Too many requests. Blocked due to rate limiting."),
    500: ("INTERNAL_SERVER_ERROR", "An internal server error occurred."),
    503: ("SERVICE_UNAVAILABLE", "Service Unavailable."),
}

# The spec's descriptions for the issues the emulator raises.
ISSUE_TEXT: dict[str, str] = {
    "MALFORMED_REQUEST_JSON": "The request JSON is not well formed.",
    "MISSING_REQUIRED_PARAMETER": "A required field / parameter is missing.",
    "INVALID_PARAMETER_VALUE": "The value of a field is invalid.",
    "INVALID_PARAMETER_SYNTAX": "The value of a field does not conform to the expected format.",
    "INVALID_STRING_LENGTH": "The value of a field is either too short or too long.",
    "INVALID_ARRAY_MIN_ITEMS": "The number of items in an array parameter is too small.",
    "NOT_SUPPORTED": "This field is not currently supported.",
    "INVALID_RESOURCE_ID": "Specified resource ID does not exist. Please check the resource ID and try again.",
    "INVALID_CURRENCY_CODE": "Currency code is invalid or is not currently supported.",
    "DECIMAL_PRECISION": "If the currency supports decimals, only two decimal place precision is supported.",
    "CANNOT_BE_ZERO_OR_NEGATIVE": "Must be greater than zero.",
    "MAX_VALUE_EXCEEDED": "Should be less than or equal to 999999999999999.99.",
    "DUPLICATE_INVOICE_ID": "Duplicate Invoice ID detected. To avoid a potential duplicate transaction your "
    "account setting requires that Invoice Id be unique for each transaction.",
    "ORDER_NOT_APPROVED": "Payer has not yet approved the Order for payment. Please redirect the payer to the "
    "'rel':'approve' url returned as part of the HATEOAS links within the Create Order call.",
    "ORDER_ALREADY_CAPTURED": "Order already captured.If 'intent=CAPTURE' only one capture per order is allowed.",
    "INSTRUMENT_DECLINED": "The instrument presented  was either declined by the processor or bank, or it can't "
    "be used for this payment.",
    "CAPTURE_FULLY_REFUNDED": "The capture has already been fully refunded",
    "REFUND_AMOUNT_EXCEEDED": "The refund amount must be less than or equal to the capture amount that has not "
    "yet been refunded.",
    "REFUND_CAPTURE_CURRENCY_MISMATCH": "Refund must be in the same currency as the capture",
    "REFUND_NOT_ALLOWED": "Capture cannot be refunded.",
    "PENDING_CAPTURE": "Cannot initiate a refund as the capture is pending.",
    "INVALID_TOKEN": "The access token is unknown or has been revoked.",
    "TOKEN_EXPIRED": "The access token has expired.",
    "MISSING_AUTHORIZATION": "The Authorization header is missing or is not a Bearer token.",
}


@dataclass(frozen=True)
class Issue:
    """One ``details[]`` entry; ``field`` is a JSON pointer as PayPal writes them."""

    issue: str
    field: str | None = None
    value: str | None = None
    location: str = "body"
    description: str | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if self.field is not None:
            body["field"] = self.field
        if self.value is not None:
            body["value"] = self.value
        body["location"] = self.location
        body["issue"] = self.issue
        body["description"] = self.description or ISSUE_TEXT.get(self.issue, self.issue)
        return body


class PayPalError(Exception):
    """A failure answered with ``status`` and PayPal's error body; raised anywhere in the emulator.

    ``body`` replaces the v2 shape for the endpoints that use another one (OAuth, v1 validation).
    """

    def __init__(
        self,
        status: int,
        *issues: Issue,
        api: str = "orders/v2",
        links: list[dict[str, Any]] | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:
        self.status = status
        self.issues = issues
        self.debug_id = debug_id()
        self.api = api
        self.extra_links = links or []
        self.body = body
        first = issues[0] if issues else None
        super().__init__(" ".join(str(part) for part in (status, first and first.issue, first and first.value) if part))

    def to_body(self) -> dict[str, Any]:
        if self.body is not None:
            return self.body
        return error_body(self.status, *self.issues, api=self.api, links=self.extra_links, debug=self.debug_id)


def error_body(
    status: int,
    *issues: Issue,
    api: str = "orders/v2",
    links: list[dict[str, Any]] | None = None,
    debug: str | None = None,
) -> dict[str, Any]:
    """The v2 error shape: ``name``, ``message``, ``debug_id``, ``details`` and ``links``."""
    name, message = ERROR_NAMES.get(status, ("INTERNAL_SERVER_ERROR", "An internal server error occurred."))
    anchor = issues[0].issue if issues else name
    body: dict[str, Any] = {"name": name, "message": message, "debug_id": debug or debug_id()}
    if issues:
        body["details"] = [issue.to_json() for issue in issues]
    info = {"href": f"https://developer.paypal.com/docs/api/{api}/#error-{anchor}", "rel": "information_link"}
    if issues:
        info["method"] = "GET"
    body["links"] = [info, *(links or [])]
    return body


def not_found(resource_id: str, *, api: str = "orders/v2") -> PayPalError:
    return PayPalError(404, Issue("INVALID_RESOURCE_ID", location="path", value=resource_id), api=api)


def unprocessable(issue: str, *, field: str | None = None, value: str | None = None, **kwargs: Any) -> PayPalError:
    return PayPalError(422, Issue(issue, field=field, value=value), **kwargs)


def bad_request(issue: str, *, field: str | None = None, value: str | None = None, **kwargs: Any) -> PayPalError:
    return PayPalError(400, Issue(issue, field=field, value=value), **kwargs)


def oauth_error(status: int, error: str, description: str) -> PayPalError:
    """``/v1/oauth2/token`` answers in the OAuth 2 shape, not PayPal's REST shape."""
    return PayPalError(status, body={"error": error, "error_description": description})


def v1_validation_error(*missing: str) -> PayPalError:
    """The v1 notifications API still uses ``VALIDATION_ERROR`` with ``information_link``."""
    return PayPalError(
        400,
        body={
            "name": "VALIDATION_ERROR",
            "message": "Invalid request - see details",
            "debug_id": debug_id(),
            "information_link": "https://developer.paypal.com/docs/api/webhooks/v1/#error-VALIDATION_ERROR",
            "details": [
                {"field": field, "location": "body", "issue": "Required field is missing."} for field in missing
            ],
            "links": [],
        },
    )
