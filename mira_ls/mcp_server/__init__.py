"""``mira-ls mcp``: the LLM tool layer served to coding agents over the Model Context
Protocol. ``workspace`` keeps one workspace indexed and fresh (no MCP types); ``server``
is the SDK wiring only."""
