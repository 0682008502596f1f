"""The insight report: figures collected from the store (data), drawn as SVG (svg), written
as one self-contained HTML file (html)."""
