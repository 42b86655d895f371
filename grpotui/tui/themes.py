"""Themes: the ones shipped in ``themes/`` (installed as ``grpotui.themes``) and the user's own."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

from textual.theme import Theme

from grpotui.store.paths import grpotui_home

DEFAULT_THEME = "grpotui-dark"
_KEYS = {"name", "dark", "primary", "secondary", "accent", "foreground", "background", "surface", "panel",
         "boost", "success", "warning", "error", "luminosity_spread", "text_alpha", "variables"}


def _theme(text: str, source: str) -> Theme:
    data = tomllib.loads(text)
    bad = set(data) - _KEYS
    if bad:
        raise ValueError(f"{source}: unknown theme key(s) {', '.join(sorted(bad))}")
    if "name" not in data or "primary" not in data:
        raise ValueError(f"{source}: a theme needs at least 'name' and 'primary'")
    return Theme(**data)


def shipped_themes() -> list[Theme]:
    pkg = importlib.resources.files("grpotui.themes")
    return [_theme(f.read_text(), f.name) for f in sorted(pkg.iterdir(), key=lambda p: p.name)
            if f.name.endswith(".toml")]


def user_themes(home: Path | None = None) -> tuple[list[Theme], list[str]]:
    """Themes from ``$GRPOTUI_HOME/themes/*.toml`` and the problems found loading them."""
    d = (home or grpotui_home()) / "themes"
    themes, problems = [], []
    if d.is_dir():
        for f in sorted(d.glob("*.toml")):
            try:
                themes.append(_theme(f.read_text(), str(f)))
            except (ValueError, OSError, tomllib.TOMLDecodeError) as e:
                problems.append(str(e) if str(f) in str(e) else f"{f}: {e}")
    return themes, problems


def configured_theme(home: Path | None = None) -> str | None:
    """``theme = "..."`` from ``$GRPOTUI_HOME/settings.toml``, if set."""
    f = (home or grpotui_home()) / "settings.toml"
    try:
        value = tomllib.loads(f.read_text()).get("theme")
    except (OSError, tomllib.TOMLDecodeError):
        return None
    return value if isinstance(value, str) else None
