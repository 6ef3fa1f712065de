"""The reply playbook: answers per intent and topic, loaded from YAML and validated."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import msgspec
import yaml

from agentgpt.errors import ConfigError


class Rules(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Which intents and topics escalate to a human or need the customer verified."""

    escalate_topics: list[str] = msgspec.field(default_factory=list)
    escalate_intents: list[str] = msgspec.field(default_factory=list)
    verify_topics: list[str] = msgspec.field(default_factory=list)
    verify_intents: list[str] = msgspec.field(default_factory=list)


class SlotPrompts(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Questions for a task's missing details, its confirmation, and the replies after."""

    amount: str
    beneficiary: str
    complete: str
    confirm: str = "So that's {amount} to {beneficiary}. Shall I go ahead?"
    cancelled: str = "All right, I've cancelled that. Nothing has been sent."


class Playbook(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Every reply the agent can give; lists hold variants so that it need not repeat."""

    version: int
    low_confidence: float
    rules: Rules
    clarify: list[str]
    clarify_with_context: list[str]
    earlier_prefix: list[str]
    new_topic_prefix: list[str]
    recap_prefix: list[str]
    intents: dict[str, list[str]]
    topics: dict[str, list[str]]
    slots: dict[str, SlotPrompts] = msgspec.field(default_factory=dict)
    #: Replies to messages outside banking support (the model's ``out_of_scope``).
    decline: list[str] = msgspec.field(
        default_factory=lambda: [
            "Sorry, that's not something I can help with here. Could you rephrase it, "
            "or would you like to speak to one of our advisers?"
        ]
    )

    def __post_init__(self) -> None:
        """Refuse playbooks that would leave the agent without an answer."""
        for name in ("clarify", "clarify_with_context", "recap_prefix", "decline"):
            if not getattr(self, name):
                raise msgspec.ValidationError(f"`{name}` needs at least one reply")
        if not self.topics.get("other"):
            raise msgspec.ValidationError("`topics.other` needs at least one reply")
        empty = [k for k, v in (self.intents | self.topics).items() if not v]
        if empty:
            raise msgspec.ValidationError(f"no replies for {', '.join(sorted(empty))}")


def load_playbook(path: str | Path | None = None) -> Playbook:
    """Load the operator's playbook at ``path``, or the one shipped with the package."""
    try:
        if path is None:
            text = resources.files("agentgpt.agents").joinpath("playbook.yaml").read_text()
            where = "the shipped playbook"
        else:
            text = Path(path).read_text(encoding="utf-8")
            where = str(path)
    except OSError as exc:
        raise ConfigError(f"cannot read playbook {path}: {exc.strerror}") from None
    try:
        return msgspec.convert(yaml.safe_load(text), Playbook)
    except yaml.YAMLError:
        raise ConfigError(f"{where}: not valid YAML") from None
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{where}: invalid playbook ({exc})") from None
