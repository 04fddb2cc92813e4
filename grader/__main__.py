"""``python -m grader`` is the ``nnex`` command."""
import sys

from grader.cli import main

sys.exit(main())
