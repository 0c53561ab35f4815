"""Command handlers, one module per feature."""
