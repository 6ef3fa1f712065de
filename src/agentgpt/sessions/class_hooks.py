"""``register_hook`` callable on a manager class as well as on an instance (the guide's form).

``SessionManager.register_hook(event="timeout", callback=...)`` registers the hook for
every manager of that class (and subclasses) created afterwards; on an instance it
registers for that manager only.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator

from agentgpt.sessions.hooks import Hook, HookRegistry

_ATTRIBUTE = "_class_hooks"


class class_or_instance_hook:  # noqa: N801 - used as a method decorator
    """A method that, called on the class, stores the hook for future instances."""

    def __init__(self, method: Callable[..., None]) -> None:
        """Wrap the instance method."""
        self.method = method
        functools.update_wrapper(self, method)  # type: ignore[arg-type]

    def __get__(self, instance: object, owner: type) -> Callable[..., None]:
        """Bind to the instance, or to the class for class-wide hooks."""
        if instance is None:
            return functools.partial(register_on_class, owner)
        return functools.partial(self.method, instance)


def register_on_class(cls: type, event: str, callback: Hook) -> None:
    """Remember ``callback`` for ``event`` on ``cls`` (validated now, like an instance's)."""
    HookRegistry().register(event, callback)  # same checks, same one-line errors
    own: list[tuple[str, Hook]] = list(vars(cls).get(_ATTRIBUTE, ()))
    own.append((event, callback))
    setattr(cls, _ATTRIBUTE, own)


def class_hooks(cls: type) -> Iterator[tuple[str, Hook]]:
    """Hooks registered on ``cls`` and its bases, base classes first."""
    for klass in reversed(cls.__mro__):
        yield from vars(klass).get(_ATTRIBUTE, ())
