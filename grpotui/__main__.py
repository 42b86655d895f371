"""``python -m grpotui``: the same as the ``grpotui`` command."""

from grpotui.cli import main

raise SystemExit(main())
