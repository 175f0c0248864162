import os
import sys

from checker.cli import main

try:
    code = main()
    sys.stdout.flush()
except BrokenPipeError:
    # The reader (e.g. `| head`) went away: stop quietly, as Unix tools do.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    code = 1
raise SystemExit(code)
