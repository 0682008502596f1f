"""mira-ls: a programming context oracle for any LSP editor."""

__version__ = "0.1.0"
