"""Search: the keyword index (always on) and, with an embedding endpoint, hybrid ranking."""
