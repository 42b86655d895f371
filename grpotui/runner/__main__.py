"""``python -m grpotui.runner RUN_DIR``: the detached training process."""

from grpotui.runner.process import main

raise SystemExit(main())
