"""``python -m agentgpt``: the CLI."""

import sys

from agentgpt.cli import main

sys.exit(main())
