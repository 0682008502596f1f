"""Documents the user gives mira-ls as reference: parsed, chunked by headings, keyword-indexed
and embedded into the user's own database, searched for recall (see library.py)."""
