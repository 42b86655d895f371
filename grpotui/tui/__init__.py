"""The Textual dashboard (imports no torch, transformers or trl)."""
