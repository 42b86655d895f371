"""Training runner: the process that runs GRPO and reports to the store."""
