"""The Discord adapter (discord.py): slash commands, buttons, ephemeral answers."""
