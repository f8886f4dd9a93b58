"""Values as clients send them, checked and converted: custom field values, dates, instants.

Each function raises :class:`~delegator.sandbox.errors.InvalidRequestError` (Asana's 400) with the
field and what would be right, so the same checks serve the HTTP API and the Python API.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from delegator.sandbox.clock import parse_instant
from delegator.sandbox.errors import InvalidRequestError
from delegator.sandbox.records import CustomField, CustomValue, EnumOption


def coerce_custom_value(definition: CustomField, value: Any, *, names: bool) -> CustomValue:
    """A client's value for a custom field, checked against its type; InvalidRequestError if wrong."""
    where = f"custom_fields: {definition.name} ({definition.gid})"
    if value is None:
        return None
    match definition.type:
        case "enum":
            option = _option(definition, value, names=names)
            if option is None:
                raise InvalidRequestError(f"{where}: {value!r} is not one of its enum option gids")
            return option
        case "multi_enum":
            items = value if isinstance(value, list) else [value]
            options = [_option(definition, item, names=names) for item in items]
            if any(option is None for option in options):
                raise InvalidRequestError(
                    f"{where}: {value!r} is not a list of its enum option gids"
                )
            return [option for option in options if option is not None]
        case "number":
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                raise InvalidRequestError(f"{where}: expected a number, got {value!r}")
            try:
                number = float(value)
            except ValueError:
                raise InvalidRequestError(f"{where}: expected a number, got {value!r}") from None
            return int(number) if number.is_integer() and definition.precision == 0 else number
        case "text":
            if not isinstance(value, str):
                raise InvalidRequestError(f"{where}: expected a string, got {value!r}")
            return value
        case "date":
            raw = value.get("date") if isinstance(value, dict) else value
            if isinstance(raw, date):
                return raw
            try:
                return date.fromisoformat(str(raw)[:10])
            except ValueError:
                raise InvalidRequestError(
                    f"{where}: expected a YYYY-MM-DD date, got {value!r}"
                ) from None
    raise InvalidRequestError(f"{where}: fields of type {definition.type} cannot be set")


def _option(definition: CustomField, ref: Any, *, names: bool) -> EnumOption | None:
    if isinstance(ref, EnumOption):
        return ref if ref in definition.enum_options else None
    if not isinstance(ref, str):
        return None
    option = definition.option(ref)
    if option is not None and not names and option.gid != ref:
        return None
    return option


def parse_date_param(value: Any, param: str) -> date | None:
    """A ``YYYY-MM-DD`` from a request body (None allowed); InvalidRequestError otherwise."""
    if value is None:
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidRequestError(f"{param}: Invalid date: {value!r}. Use YYYY-MM-DD") from None


def parse_instant_param(value: Any, param: str) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_instant(str(value))
    except ValueError:
        raise InvalidRequestError(f"{param}: Invalid date-time: {value!r}. Use ISO 8601") from None
