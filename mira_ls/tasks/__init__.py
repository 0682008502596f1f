"""Tasks and operations: the thread of a developer's work (tasks, their sessions and context
snapshots) and every piece of LLM work as an inspectable operation with its events and cost."""
