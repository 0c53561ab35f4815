"""The Matrix adapter (matrix-nio): commands as `!tour` or `/tour`, edits for the live status."""
