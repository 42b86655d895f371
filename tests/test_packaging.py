"""The built wheel carries the themes and the stylesheet, and the installed package finds them."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import REPO


@pytest.mark.slow
def test_wheel_ships_themes_and_css(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(REPO)],
                   check=True, capture_output=True)
    [wheel] = list(tmp_path.glob("grpotui-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"grpotui/themes/grpotui-dark.toml", "grpotui/themes/grpotui-light.toml", "grpotui/tui/app.tcss"} <= names
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True)
    code = ("import grpotui, sys; from grpotui.tui.themes import shipped_themes; "
            "assert grpotui.__file__.startswith(sys.argv[1]), grpotui.__file__; "
            "print(sorted(t.name for t in shipped_themes()))")
    out = subprocess.run([sys.executable, "-c", code, str(target)], capture_output=True, text=True,
                         env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['grpotui-dark', 'grpotui-light']"
