"""How the NLPAgent words a reply: playbook variants, context, slots and no repeats."""

from __future__ import annotations

import re

from agentgpt.agents.context import Context
from agentgpt.agents.playbook import Playbook

_NUMBER = r"\d{1,3}(?:[,\s]\d{3})*(?:\.\d{1,2})?|\d+(?:\.\d{1,2})?"
_CURRENCY = r"eur(?:os?)?|gbp|pounds?|usd|dollars?|chf|francs?|[£$€]"
_AMOUNT = re.compile(
    rf"(?P<pre>[£$€])\s?(?P<a>{_NUMBER})|(?P<b>{_NUMBER})\s?(?P<post>{_CURRENCY})\b", re.I
)
_BARE_NUMBER = re.compile(rf"^\s*(?P<n>{_NUMBER})\s*$")
_UNITS = {"£": "GBP", "$": "USD", "€": "EUR", "pound": "GBP", "dollar": "USD", "franc": "CHF"}
#: Topics that do not count as a customer concern worth referring back to.
SMALL_TALK = frozenset({None, "other", "Conversation", "Out of scope"})
TASK = "task"
#: Slot naming the open task the customer was already told is kept (said once per task).
REMINDED = "task.reminded"
#: Intents that answer a yes/no question (the taxonomy's meta intents).
AFFIRM = frozenset({"affirm"})
DENY = frozenset({"deny", "cancel"})
#: Slot names a task fills (cleared when it ends).
DETAILS = ("amount", "beneficiary", "beneficiary_hint", "confirm")


def amount_in(text: str, *, bare: bool = False) -> str | None:
    """Return an amount such as ``500 EUR`` found in ``text`` (a bare number if ``bare``)."""
    match = _AMOUNT.search(text)
    if match:
        number = (match["a"] or match["b"]).replace(",", "").replace(" ", "")
        unit = (match["pre"] or match["post"]).lower().rstrip("s")
        code = _UNITS.get(unit, unit[:3].upper())
        return f"{number} {code}"
    bare_match = _BARE_NUMBER.match(text) if bare else None
    return bare_match["n"].replace(",", "") if bare_match else None


def words(intent: str) -> str:
    """Return an intent name as words (``card_blocked_abroad`` -> ``card blocked abroad``)."""
    return intent.rstrip("?").replace("_", " ").lower()


def earlier_concern(context: Context, topic: str | None) -> str | None:
    """The most recent concern in the window on another topic, in words (or None)."""
    for exchange in reversed(context.window):
        if exchange.topic not in SMALL_TALK and exchange.topic != topic and exchange.intent:
            return words(exchange.intent)
    return None


def fresh(candidates: list[str], playbook: Playbook, context: Context) -> str:
    """Return the first candidate not already said in the window (never a verbatim repeat)."""
    used = {exchange.reply for exchange in context.window}
    for candidate in candidates:
        if candidate not in used:
            return candidate
    for prefix in playbook.recap_prefix:
        for candidate in candidates:
            if prefix + candidate not in used:
                return prefix + candidate
    # Every variant was said: the turn number makes this one distinct.
    return f"{playbook.recap_prefix[0]}{candidates[0]} (message {context.turns + 1})"


class Composer:
    """Builds the reply of one turn from the playbook and the session's context."""

    def __init__(self, playbook: Playbook) -> None:
        """Use ``playbook`` for every reply."""
        self.playbook = playbook

    def clarify(self, context: Context) -> str:
        """Ask the customer to say more, naming the earlier concern if there is one."""
        earlier = earlier_concern(context, None)
        if earlier:
            return fresh(
                [c.format(earlier=earlier) for c in self.playbook.clarify_with_context],
                self.playbook,
                context,
            )
        return fresh(list(self.playbook.clarify), self.playbook, context)

    def answer(self, intent: str, topic: str, context: Context) -> list[str]:
        """Return the reply variants for ``intent``; refer back when the customer returns to it.

        Only a return to an earlier concern (not the one just discussed) gets a reference:
        a reply that opens with the same preamble every turn reads like a machine.
        """
        pb = self.playbook
        base = pb.intents.get(intent) or pb.topics.get(topic) or pb.topics["other"]
        texts = [b.format(intent_text=words(intent), topic=topic) for b in base]
        if topic in SMALL_TALK:
            return texts
        last = context.window[-1].intent if context.window else None
        if intent in context.intents() and intent != last:
            prefixes = [p.format(earlier=words(intent)) for p in pb.earlier_prefix]
            return [p + t for t in texts for p in prefixes] + texts
        return texts

    def reminded(self, task: str, texts: list[str]) -> list[str]:
        """Return ``texts`` prefixed by a note that ``task`` stays open for later."""
        prefixes = [p.format(earlier=words(task)) for p in self.playbook.new_topic_prefix]
        return [p + t for t in texts for p in prefixes] + texts if prefixes else texts

    def finish(self, task: str, context: Context, *, done: bool) -> tuple[str, dict[str, str]]:
        """Complete (``done``) or cancel ``task``; return the reply and the cleared slots."""
        prompts = self.playbook.slots[task]
        if done:
            shown = context.slots.get(f"{task}.beneficiary_hint") or "the account you gave"
            amount = context.slots.get(f"{task}.amount", "")
            reply = prompts.complete.format(amount=amount, beneficiary=shown)
        else:
            reply = prompts.cancelled
        cleared = {f"{task}.{name}": "" for name in DETAILS} | {TASK: "", REMINDED: ""}
        return fresh([reply], self.playbook, context), cleared

    def task(
        self, task: str, context: Context, found: dict[str, str], opening: list[str]
    ) -> tuple[list[str], dict[str, str]]:
        """Advance a task that needs details (e.g. a transfer's amount and beneficiary).

        Returns the reply variants and the slots to store: what is known so far and, while
        something is missing, the task itself so that the next turn can continue it.
        """
        prompts = self.playbook.slots[task]
        known = {
            name: found.get(name) or context.slots.get(f"{task}.{name}", "")
            for name in ("amount", "beneficiary", "beneficiary_hint")
        }
        slots = {f"{task}.{k}": v for k, v in known.items() if v}
        if not known["amount"]:
            question, slots[TASK] = prompts.amount, task
        elif not known["beneficiary"]:
            question, slots[TASK] = prompts.beneficiary, task
        else:
            # The reply names the account by its last digits, never the placeholder or IBAN.
            # Nothing is sent before the customer says yes to this question.
            shown = known["beneficiary_hint"] or "the account you gave"
            question = prompts.confirm.format(amount=known["amount"], beneficiary=shown)
            slots[TASK] = task
            slots[f"{task}.confirm"] = "asked"
        if not opening:
            return [question], slots
        return [f"{o} {question}" for o in opening] + [question], slots
