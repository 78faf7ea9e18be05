"""``python -m rnnviz``: the same as the ``rnnviz`` command."""

import sys

from rnnviz.cli import main

if __name__ == "__main__":  # guarded: the training process (spawn) re-imports this module
    sys.exit(main())
