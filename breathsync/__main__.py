"""``python -m breathsync``: the same as the ``breathsync`` command."""

from breathsync.entry import main

raise SystemExit(main())
