"""Concern topics: the intent -> topic map the dashboard and analytics group by.

Every intent of the shipped model has a topic here (a unit test checks it).
"""

from __future__ import annotations

from types import MappingProxyType

#: Topic of every intent that is not listed below.
OTHER = "other"

_GROUPS: dict[str, tuple[str, ...]] = {
    "Password & access": (
        "passcode_forgotten",
        "pin_blocked",
        "change_pin",
        "lost_or_stolen_phone",
        "password_reset",
        "pin_forgotten",
        "account_blocked",
    ),
    "Fraud alerts": (
        "compromised_card",
        "card_payment_not_recognised",
        "cash_withdrawal_not_recognised",
        "direct_debit_payment_not_recognised",
        "lost_or_stolen_card",
        "report_fraud",
        "freeze_account",
    ),
    "Card issues": (
        "card_arrival",
        "card_delivery_estimate",
        "card_linking",
        "card_not_working",
        "contactless_not_working",
        "card_swallowed",
        "activate_my_card",
        "card_about_to_expire",
        "getting_spare_card",
        "get_physical_card",
        "order_physical_card",
        "getting_virtual_card",
        "get_disposable_virtual_card",
        "virtual_card_not_working",
        "disposable_card_limits",
        "card_acceptance",
        "visa_or_mastercard",
        "supported_cards_and_currencies",
        "apple_pay_or_google_pay",
        "card_blocked_abroad",
        "travel_notification",
    ),
    "Card payments": (
        "card_payment_fee_charged",
        "card_payment_wrong_exchange_rate",
        "declined_card_payment",
        "pending_card_payment",
        # The issue lists it with a question mark; BANKING77 names it reverted_card_payment?
        "reverted_card_payment?",
    ),
    "Transfers": (
        "cancel_transfer",
        "transfer_not_received_by_recipient",
        "declined_transfer",
        "pending_transfer",
        "transfer_timing",
        "beneficiary_not_allowed",
        "transfer_fee_charged",
        "failed_transfer",
        "transfer_into_account",
        "receiving_money",
        "balance_not_updated_after_bank_transfer",
        "wire_transfer",
    ),
    "Top-ups": (
        "automatic_top_up",
        "top_up_by_bank_transfer_charge",
        "pending_top_up",
        "top_up_limits",
        "top_up_reverted",
        "topping_up_by_card",
        "verify_top_up",
        "top_up_by_cash_or_cheque",
        "top_up_failed",
        "top_up_by_card_charge",
        "balance_not_updated_after_cheque_or_cash_deposit",
    ),
    "Cash & ATM": (
        "pending_cash_withdrawal",
        "wrong_amount_of_cash_received",
        "declined_cash_withdrawal",
        "atm_support",
        "cash_withdrawal_charge",
        "wrong_exchange_rate_for_cash_withdrawal",
    ),
    "Exchange & fees": (
        "exchange_rate",
        "exchange_via_app",
        "fiat_currency_support",
        "exchange_charge",
        "extra_charge_on_statement",
        "fees_abroad",
    ),
    "Refunds & disputes": (
        "request_refund",
        "Refund_not_showing_up",
        "transaction_charged_twice",
    ),
    "Complaints": ("complaint",),
    "Identity verification": (
        "why_verify_identity",
        "unable_to_verify_identity",
        "verify_my_identity",
        "verify_source_of_funds",
    ),
    "Account": (
        "edit_personal_details",
        "terminate_account",
        "age_limit",
        "country_support",
        "open_account",
        "routing_number",
    ),
    "Balance & statements": ("balance", "transactions", "statement_request"),
    "Loan inquiries": ("loan_inquiry", "mortgage_inquiry", "credit_score"),
    "Savings & interest": ("savings_account", "interest_rate"),
    "Overdrafts": ("overdraft",),
    "Direct debits & bills": ("direct_debit", "standing_order", "bill_payment"),
    "Cheques": ("order_cheques", "deposit_cheque"),
    "Credit cards": (
        "credit_limit",
        "minimum_payment",
        "rewards",
        "credit_card_application",
        "application_status",
    ),
    "Conversation": (
        "greeting",
        "goodbye",
        "thanks",
        "human_handoff",
        "affirm",
        "deny",
        "unsure",
        "cancel",
        "repeat",
        "about_assistant",
        "capabilities",
        "chitchat",
        "assistant_settings",
    ),
    # Messages a bank's support chat cannot serve: the agent declines them.
    "Out of scope": ("out_of_scope",),
}

#: intent -> topic display name (read-only).
TOPICS: MappingProxyType[str, str] = MappingProxyType(
    {intent: topic for topic, intents in _GROUPS.items() for intent in intents}
)

#: Every topic name, in dashboard order, ``other`` last.
TOPIC_NAMES: tuple[str, ...] = (*_GROUPS, OTHER)


def topic_of(intent: str | None) -> str:
    """Return the concern topic of ``intent`` (``other`` for unknown or missing intents)."""
    if intent is None:
        return OTHER
    return TOPICS.get(intent) or TOPICS.get(intent + "?", OTHER)
