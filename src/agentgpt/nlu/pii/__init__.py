"""PII detection and redaction: what is found, how it is validated, and the placeholders."""

from agentgpt.nlu.pii.redactor import KINDS, Found, PIIRedactor, Redaction, restore

__all__ = ["KINDS", "Found", "PIIRedactor", "Redaction", "restore"]
