"""Time: the clock, dates as people type them, wake-ups, time boxes, posting prompts, retention."""
