"""The user's settings file, ``$GRPOTUI_HOME/settings.toml``, read with the standard library (any side may use it).

```toml
theme = "grpotui-light"          # the dashboard's theme

[keys]                           # binding id = key(s), as Textual keymaps take them
"dashboard.pause" = "space"
"runs.compare" = "c,x"
```

Reading never fails: a file that cannot be read or parsed, or a value of the wrong kind, comes back as a
one-line problem naming the file and the key, and the rest is used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

from grpotui.store.paths import grpotui_home

SETTINGS_FILE = "settings.toml"


def settings_path(home: Path | None = None) -> Path:
    return (home or grpotui_home()) / SETTINGS_FILE


def load(home: Path | None = None) -> tuple[dict[str, Any], list[str]]:
    """The settings as a dict (empty when there is no file), and the problems found reading them."""
    path = settings_path(home)
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}, []
    except OSError as e:
        return {}, [f"{path}: cannot be read: {e.strerror or e}"]
    try:
        return tomllib.loads(text), []
    except tomllib.TOMLDecodeError as e:
        return {}, [f"{path}: not valid TOML: {e}"]


def theme(home: Path | None = None) -> str | None:
    """``theme = "..."``, if set."""
    value = load(home)[0].get("theme")
    return value if isinstance(value, str) else None


def keys(home: Path | None = None) -> tuple[dict[str, str], list[str]]:
    """The ``[keys]`` table (binding id -> key(s), e.g. ``"space"`` or ``"p,space"``) and a one-line problem
    for each entry that is not such a string. Whether an id names a binding is for the app to say."""
    data, problems = load(home)
    table = data.get("keys", {})
    where = f"{SETTINGS_FILE} [keys]"
    if not isinstance(table, dict):
        return {}, [*problems, f"{SETTINGS_FILE}: [keys] must be a table of binding id = \"key(s)\""]
    keymap: dict[str, str] = {}
    for binding_id, value in table.items():
        if not isinstance(value, str):
            problems.append(f"{where}: {binding_id!r} must be a string of key names such as \"space\" or "
                            f"\"p,space\", not {value!r}")
        elif not all(k.strip() for k in value.split(",")):
            problems.append(f"{where}: {binding_id!r} has an empty key name in {value!r}")
        else:
            keymap[binding_id] = ",".join(k.strip() for k in value.split(","))
    return keymap, problems
