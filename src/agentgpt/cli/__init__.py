"""The ``agentgpt`` command line."""

from agentgpt.cli.app import app, main

__all__ = ["app", "main"]
