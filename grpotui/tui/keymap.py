"""The ``[keys]`` table of ``settings.toml`` as a Textual keymap, checked against the bindings the app has.

Each binding a user may want to change has an id ``screen.action`` (``dashboard.pause``, ``runs.compare``);
``"dashboard.pause" = "space"`` or ``"runs.compare" = "c,x"`` gives it other keys. An id that names no
binding, or a value that is not a string of keys, is one line of problem naming it; the rest still applies.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path

from textual.dom import DOMNode

from grpotui import settings


def binding_ids(classes: Iterable[type[DOMNode]]) -> set[str]:
    """The ids of every binding the classes (and their bases) declare."""
    ids: set[str] = set()
    for cls in classes:
        for klass in cls.__mro__:
            for binding in vars(klass).get("BINDINGS", ()):
                if getattr(binding, "id", None):
                    ids.add(binding.id)
    return ids


def load_keymap(known: set[str], home: Path | None = None) -> tuple[dict[str, str], list[str]]:
    """The keymap from ``settings.toml`` (only ids in ``known``) and a one-line problem per bad entry."""
    keymap, problems = settings.keys(home)
    good: dict[str, str] = {}
    for binding_id, keys in keymap.items():
        if binding_id in known:
            good[binding_id] = keys
            continue
        close = difflib.get_close_matches(binding_id, sorted(known), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else f" (ids are like {sorted(known)[0]!r})"
        problems.append(f"{settings.SETTINGS_FILE} [keys]: {binding_id!r} is not a binding id{hint}")
    return good, problems
