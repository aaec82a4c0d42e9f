"""``python -m breathsync``: the same as the ``breathsync`` command."""

from breathsync.cli import main

raise SystemExit(main())
