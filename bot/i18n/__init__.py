"""Messages in French and English from gettext catalogs; dates and numbers by Babel."""
