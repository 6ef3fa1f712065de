"""Human durations (``30d``, ``15m``, ``1h30m``) as the configuration writes them."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import BeforeValidator

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")


def parse_duration(value: object) -> timedelta:
    """Parse ``30d``, ``15m``, ``1h30m``, a number of seconds, or a timedelta."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a string such as 30d, 15m, 1h30m")
    elif isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        seconds = _parse_text(value.strip().lower())
    else:
        raise ValueError(f"not a duration: {value!r}")
    if seconds <= 0:
        raise ValueError(f"a duration must be positive, got {value!r}")
    return timedelta(seconds=seconds)


def _parse_text(text: str) -> float:
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    parts = _PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(
            f"bad duration {text!r}: write a number with a unit (ms, s, m, h, d, w), "
            "e.g. 30d or 1h30m"
        )
    return sum(float(n) * _UNITS[u] for n, u in parts)


#: A pydantic field type accepting the forms ``parse_duration`` does.
Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def format_duration(value: timedelta) -> str:
    """Write ``value`` the way the configuration does (``30d``, ``1h30m``, ``250ms``)."""
    millis = round(value.total_seconds() * 1000)
    if millis % 1000:
        return f"{millis}ms"
    seconds, out = millis // 1000, []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            out.append(f"{count}{unit}")
    return "".join(out) or "0s"


_NAMED_ROTATIONS = {"hourly": 3600.0, "daily": 86400.0, "weekly": 604800.0}


def parse_rotation(value: object) -> timedelta | None:
    """Parse a key-rotation period: ``daily``/``hourly``/``weekly``, a duration, or ``never``."""
    if value is None or (isinstance(value, str) and value.strip().lower() in {"never", "off"}):
        return None
    if isinstance(value, str) and value.strip().lower() in _NAMED_ROTATIONS:
        return timedelta(seconds=_NAMED_ROTATIONS[value.strip().lower()])
    return parse_duration(value)


#: A pydantic field type for rotation periods (None: never rotate).
Rotation = Annotated[timedelta | None, BeforeValidator(parse_rotation)]
