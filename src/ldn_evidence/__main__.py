"""``python -m ldn_evidence``: the same commands as the ``ldn-evidence`` console script.

Within a local workflow run, the command is handed to the run's job server, which runs it in a
fork of a process that has already imported the libraries (:mod:`ldn_evidence.jobserver`;
this module imports only its light client, :mod:`ldn_evidence.jobclient`);
without one, it runs here.
"""

import sys

from ldn_evidence.jobclient import delegate

status = delegate(sys.argv[1:])
if status is None:
    from ldn_evidence.cli import main

    status = main()
sys.exit(status)
