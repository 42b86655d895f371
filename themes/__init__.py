"""The themes that ship with grpotui (this folder is the top-level themes/ of the source tree)."""
