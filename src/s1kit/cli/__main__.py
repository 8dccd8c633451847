"""`python -m s1kit.cli <command>`, the same as `s1kit <command>`."""

import sys

from s1kit.cli import main

sys.exit(main())
