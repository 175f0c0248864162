import sys

from checker.soundness.harness import main

sys.exit(main())
