"""Recaps and the cycle report: one model, rendered as text, HTML and embeds, with charts."""
