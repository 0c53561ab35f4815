#!/usr/bin/env bash
# Set up everything the tests need, then run lint, type checks and the whole test suite.
# Usage: ./scripts/test.sh [extra pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test,matrix,discord,postgres]'
# A throw-away Synapse for the Matrix tests lives in its own venv (.venv-synapse); the tests
# start and stop it themselves.
"$PYTHON" scripts/synapse.py install
# PostgreSQL's server from Debian's packages (apt-get, as root) when it is missing; the tests
# start a throw-away cluster of their own and stop it.
"$PYTHON" scripts/postgres.py install
# A fallback font for the characters DejaVu Sans lacks in names on charts (emoji): fonts-symbola.
"$PYTHON" scripts/fonts.py install
# Debian's Chromium and ChromeDriver (apt-get, as root) and axe-core (npm, into .cache/browser)
# for the web pages' browser tests.
"$PYTHON" scripts/browser.py install

echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy"
.venv/bin/mypy
echo "== pytest"
set +e
.venv/bin/python -m pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests"
  exit 1
fi
exit "$status"
