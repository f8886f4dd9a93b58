"""Errors as Asana writes them: ``{"errors": [{"message", "help"}]}`` with the HTTP status.

Handlers and the world raise these; the dispatcher turns them into responses, so a failure reads
the same whether it came from a bad query parameter, a missing object or an injected fault.
"""

from __future__ import annotations

from typing import Any

HELP = (
    "For more information on API status codes and how to handle them, "
    "read the docs on errors: https://developers.asana.com/docs/errors"
)


class ApiError(Exception):
    """An error answered to the client: HTTP status, messages, extra body keys and headers."""

    status: int = 500

    def __init__(
        self,
        *messages: str,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages or (type(self).default_message(),)
        self.extra = extra or {}
        self.headers = headers or {}

    @classmethod
    def default_message(cls) -> str:
        return "Server Error"

    def body(self) -> dict[str, Any]:
        errors: list[dict[str, str]] = [{"message": m, "help": HELP} for m in self.messages]
        return {"errors": errors, **self.extra}


class InvalidRequestError(ApiError):
    status = 400


class NotAuthorizedError(ApiError):
    status = 401

    @classmethod
    def default_message(cls) -> str:
        return "Not Authorized"


class PaymentRequiredError(ApiError):
    """402: a premium-only feature asked of a free workspace (reads and writes alike)."""

    status = 402

    @classmethod
    def default_message(cls) -> str:
        return "Payment Required"


class ForbiddenError(ApiError):
    status = 403

    @classmethod
    def default_message(cls) -> str:
        return "ForbiddenError"


class NotFoundError(ApiError):
    status = 404

    @classmethod
    def default_message(cls) -> str:
        return "Not Found"


class PreconditionFailedError(ApiError):
    status = 412


class RateLimitedError(ApiError):
    status = 429

    @classmethod
    def default_message(cls) -> str:
        return (
            "You've made too many requests and hit a rate limit. "
            "Please retry after the given amount of time."
        )


class ServerError(ApiError):
    status = 500

    def body(self) -> dict[str, Any]:
        body = super().body()
        for error in body["errors"]:
            # Asana adds a memorable phrase to 500s so people can quote them to support.
            error["phrase"] = "6 sad squid snuggle softly"
        return body
