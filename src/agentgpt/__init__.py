"""agentgpt sessions: isolated, encrypted, concurrent support-agent sessions."""
