"""Root of every pytest suite under tests/ (pytest.ini sits here too).

The one place that makes the shared plumbing of tests/lib (pvsim.py: the
provider simulator and its control API) importable, for the suites and
for the helpers they import (tests/integration/pvtest.py,
tests/cli/cliworld.py, tests/fleet/etcdcluster.py).  pytest loads this
file before any suite's own conftest.py, whichever suite runs.
"""

import sys
from pathlib import Path

_LIB = str(Path(__file__).resolve().parent / "lib")
if _LIB not in sys.path:
    sys.path.insert(0, _LIB)
