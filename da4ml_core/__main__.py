"""``python -m da4ml_core``: the main job (the bundled example converted and verified in both
simulators); any arguments are those of the ``da4ml-core`` command."""

import sys

from .cli import main

sys.exit(main())
