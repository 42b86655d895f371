"""Package discovery only (everything else is in pyproject.toml).

The packages are found, not listed by hand (a list once left ``grpotui.health`` out of the wheel), and
only under ``grpotui/`` (plain flat-layout discovery trips over the top-level ``themes/``, which ships
as ``grpotui.themes`` through ``package-dir`` in pyproject.toml).
"""

from setuptools import find_packages, setup

setup(packages=[*find_packages(include=["grpotui", "grpotui.*"]), "grpotui.themes"])
