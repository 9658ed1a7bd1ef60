"""``python -m ldn_evidence``: the same commands as the ``ldn-evidence`` console script."""

import sys

from ldn_evidence.cli import main

sys.exit(main())
