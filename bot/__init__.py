"""Cercle's platform-agnostic core: circles, séances, speaking turns and recaps."""
