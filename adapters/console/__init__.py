"""The console adapter: a circle in the terminal, typed or scripted."""
