"""`python -m storage.migrations`: bring the database whose URL is read from standard input
to the newest migration (how `Database.upgrade` runs them, in a child process)."""

import sys

from storage.database import upgrade

if __name__ == "__main__":
    upgrade(sys.stdin.read().strip())
