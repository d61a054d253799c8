"""Core engine benchmark; same as `ordercare bench --json` (last line: one JSON object)."""

import sys

from ordercare.cli import app

if __name__ == "__main__":
    app(["bench", "--json", *sys.argv[1:]])
