"""The project's intent taxonomy: how CLINC150's intents map onto it, and what is out of scope.

BANKING77's 77 intents are taken as they are. CLINC150's intents are renamed here, where the
mapping can be reviewed and tested: an intent that means the same as one already in the
taxonomy is merged into it (``pin_change`` is BANKING77's ``change_pin``), one that adds
something a bank serves keeps a project name, and everything a bank's support chat cannot
serve (recipes, flights, music, ...) becomes ``out_of_scope``. In-house examples
(``starter_data``) cover what neither set has: mortgages, savings, overdrafts, direct debits
and standing orders, cheques, statements, account opening, PIN, complaints and hand-off.
"""

from __future__ import annotations

from types import MappingProxyType

#: The class of messages a bank's support chat should decline (ask to rephrase, offer a human).
OUT_OF_SCOPE = "out_of_scope"
#: CLINC150's own label for queries outside all of its domains.
CLINC_OOS = "oos"

#: CLINC150 domains whose intents are in scope for a bank's support chat.
IN_SCOPE_DOMAINS = ("banking", "credit_cards", "small_talk", "meta")

_CLINC: dict[str, str] = {
    # banking
    "freeze_account": "freeze_account",
    "routing": "routing_number",
    "pin_change": "change_pin",
    "bill_due": "bill_payment",
    "pay_bill": "bill_payment",
    "bill_balance": "bill_payment",
    "min_payment": "minimum_payment",
    "account_blocked": "account_blocked",
    "interest_rate": "interest_rate",
    "transfer": "wire_transfer",
    "order_checks": "order_cheques",
    "balance": "balance",
    "spending_history": "transactions",
    "transactions": "transactions",
    "report_fraud": "report_fraud",
    # credit_cards
    "replacement_card_duration": "card_delivery_estimate",
    "expiration_date": "card_about_to_expire",
    "damaged_card": "card_not_working",
    "improve_credit_score": "credit_score",
    "credit_score": "credit_score",
    "report_lost_card": "lost_or_stolen_card",
    "card_declined": "declined_card_payment",
    "credit_limit": "credit_limit",
    "credit_limit_change": "credit_limit",
    "apr": "interest_rate",
    "redeem_rewards": "rewards",
    "rewards_balance": "rewards",
    "application_status": "application_status",
    "new_card": "credit_card_application",
    "international_fees": "fees_abroad",
    # small_talk
    "greeting": "greeting",
    "goodbye": "goodbye",
    "thank_you": "thanks",
    "are_you_a_bot": "about_assistant",
    "what_is_your_name": "about_assistant",
    "who_made_you": "about_assistant",
    "who_do_you_work_for": "about_assistant",
    "how_old_are_you": "about_assistant",
    "where_are_you_from": "about_assistant",
    "what_can_i_ask_you": "capabilities",
    "meaning_of_life": "chitchat",
    "tell_joke": "chitchat",
    "fun_fact": "chitchat",
    "do_you_have_pets": "chitchat",
    "what_are_your_hobbies": "chitchat",
    # meta
    "yes": "affirm",
    "no": "deny",
    "maybe": "unsure",
    "cancel": "cancel",
    "repeat": "repeat",
    # Voice-assistant settings: in CLINC's meta domain, but nothing a bank chat can change;
    # one intent whose reply says so.
    "change_speed": "assistant_settings",
    "change_volume": "assistant_settings",
    "whisper_mode": "assistant_settings",
    "change_accent": "assistant_settings",
    "change_language": "assistant_settings",
    "sync_device": "assistant_settings",
    "reset_settings": "assistant_settings",
    "change_ai_name": "assistant_settings",
    "change_user_name": "assistant_settings",
    "user_name": "assistant_settings",
    # Two intents of CLINC's travel domain are questions for a bank, not a travel agent:
    # the rate for changing currency, and telling the bank about a trip so cards keep working.
    "exchange_rate": "exchange_rate",
    "travel_notification": "travel_notification",
}

#: CLINC150 intent -> project intent (anything not listed is out of scope).
CLINC_TO_PROJECT: MappingProxyType[str, str] = MappingProxyType(_CLINC)


def from_clinc(intent: str) -> str:
    """Return the project intent of a CLINC150 intent (``out_of_scope`` if a bank can't help)."""
    return CLINC_TO_PROJECT.get(intent, OUT_OF_SCOPE)
