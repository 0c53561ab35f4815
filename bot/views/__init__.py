"""What people read during a séance: the live status and the words shared by many messages."""
