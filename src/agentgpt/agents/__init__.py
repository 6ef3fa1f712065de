"""Agents: the protocol, the response, the pool, and the shipped agents."""

from agentgpt.agents.context import Context, Exchange
from agentgpt.agents.nlp_agent import NLPAgent
from agentgpt.agents.protocol import Agent
from agentgpt.agents.response import Action, Entity, Response, Sentiment

__all__ = ["Action", "Agent", "Context", "Entity", "Exchange", "NLPAgent", "Response", "Sentiment"]
