"""``SupportAgent``: the guide's name for the bank's support agent.

The guide builds its pool as ``AgentPool(agent_class=SupportAgent, max_idle=300,
ready_timeout=5)``. ``SupportAgent`` is the shipped ``NLPAgent`` (intent, topic, sentiment,
PII redaction, playbook replies) under that name; subclass it to change the replies or add
capabilities, and keep the ``Agent`` protocol's contract (no state between calls).
"""

from __future__ import annotations

from agentgpt.agents.nlp_agent import NLPAgent


class SupportAgent(NLPAgent):
    """The support portal's agent: ``NLPAgent`` under the guide's name."""
