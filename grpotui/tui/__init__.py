"""The Textual app over the run stores: ``session.py`` reads and commands (no textual), ``screens/`` lay out and
react (one a file, opened by name through ``app.py``), ``modals/`` ask, ``widgets/`` draw."""
