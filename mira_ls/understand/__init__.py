"""Code understanding: quality metrics measured from the syntax tree (issue 19)."""
