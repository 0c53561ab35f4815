"""A circle's data as JSON, Markdown and iCalendar."""
