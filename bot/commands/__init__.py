"""Commands: declared once here, parsed from text, dispatched to handlers by feature."""
