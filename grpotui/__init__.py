"""grpotui: run, watch and control GRPO training from the terminal."""
