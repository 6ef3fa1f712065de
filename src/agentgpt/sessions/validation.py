"""Checks on customer input before anything is locked or written."""

from __future__ import annotations

from agentgpt.errors import InvalidInput, MessageTooLarge


def validate_message(text: object, max_bytes: int) -> str:
    """Return ``text`` as a clean ``str`` or raise a typed error naming the problem."""
    if isinstance(text, bytes | bytearray | memoryview):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInput(f"message is not valid UTF-8 (byte {exc.start})") from None
    if not isinstance(text, str):
        raise InvalidInput(f"message must be text, not {type(text).__name__}")
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidInput("message contains unpaired surrogates (not valid UTF-8)") from None
    if size > max_bytes:
        raise MessageTooLarge(f"message is {size} bytes; the limit is {max_bytes} bytes")
    if not text.strip():
        raise InvalidInput("message is empty")
    if "\x00" in text:
        raise InvalidInput("message contains a NUL character")
    return text
