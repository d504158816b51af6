"""``python -m core``: the command line (see ``core.tools.cli``)."""

import sys

from core.tools.cli import main

sys.exit(main())
