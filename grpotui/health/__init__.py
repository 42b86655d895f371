"""Health rules: spot a GRPO run going bad (standard library only; the runner checks them every step)."""

from grpotui.health.rules import (
    ACTIONS,
    RULES,
    Alert,
    GroupStats,
    HealthConfigError,
    HealthMonitor,
    group_stats,
    replay,
    resolve,
)

__all__ = ["ACTIONS", "RULES", "Alert", "GroupStats", "HealthConfigError", "HealthMonitor", "group_stats",
           "replay", "resolve"]
