"""The dashboard's themes: those shipped in ``themes/`` (installed as ``grpotui.themes``) and the user's own in
``$GRPOTUI_HOME/themes/`` (which one is used: ``--theme``, else ``theme`` in :mod:`grpotui.settings`)."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

from textual.theme import Theme

from grpotui.settings import tomllib
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
