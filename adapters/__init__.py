"""Adapters: platforms (console, Discord, Matrix) and the command line that starts them."""
