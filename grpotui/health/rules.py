"""Health rules over a run's recorded series: spot GRPO runs going bad before a person has to.

Standard library only: the runner checks these after every logged step (so they act with nobody
watching), and tests replay recorded series through them. Each rule has defaults that a run's
``[health]`` config section can change; each alert carries the values that tripped it.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

ACTIONS = ("warn", "pause", "stop", "kill")

# Every rule, its parameters and defaults. Windows count logged steps.
RULES: dict[str, dict[str, Any]] = {
    # NaN or inf in loss, grad norm or reward: nothing after it can be trusted.
    "numerical": {"action": "stop", "keys": ["loss", "grad_norm", "reward", "kl"]},
    # Most groups have zero reward spread (no gradient) far more often than chance predicts, while the
    # reward is not saturated. Chance: with accuracy p and group size G, p^G + (1-p)^G of groups.
    "no_signal": {"action": "warn", "window": 50, "min_steps": 100, "threshold": 0.9, "margin": 0.25},
    # Completions inside groups (near) identical and not all at the top reward, over a window.
    "mode_collapse": {"action": "stop", "window": 20, "min_steps": 20, "max_distinct": 0.25, "share": 0.8},
    # Policy entropy below a floor, or far below its early level, over a window.
    "entropy_collapse": {"action": "stop", "window": 10, "min_steps": 20, "floor": 0.02, "factor": 50.0,
                         "early_steps": 20},
    # KL above a ceiling, or its recent mean far above its running median.
    "kl_blowup": {"action": "warn", "ceiling": 50.0, "jump": 10.0, "recent": 5, "baseline": 50,
                  "min_kl": 1.0},
    # Mean reward far below its best, sustained over a window.
    "reward_crash": {"action": "warn", "window": 50, "min_steps": 100, "drop": 0.5, "min_drop": 0.2},
    # Most completions hit max_completion_length, and that is new (not how the run started).
    "length_runaway": {"action": "warn", "window": 50, "min_steps": 50, "threshold": 0.8, "rise": 0.3,
                       "early_steps": 20},
    # With several reward functions: an auxiliary one's mean rises clearly over a window while the primary
    # (correctness) one's falls (the later half of the window against the earlier, each change at least
    # ``rise`` / ``fall`` and ``z`` standard errors of the step means, so noise does not trip it). Flat is
    # not enough: a format reward usually rises before correctness does. ``primary``: the correctness
    # function's name ("" means grpotui's own ``correctness``; without one the rule is off).
    "reward_hacking": {"action": "warn", "window": 100, "min_steps": 100, "rise": 0.2, "fall": 0.02,
                       "z": 3.0, "primary": ""},
    # No step for a long time while the runner lives (checked by the runner's control thread).
    "stall": {"action": "warn", "seconds": 900.0, "factor": 20.0},
}
# The metrics the rules read (others are not kept).
_WATCHED = {"reward", "frac_reward_zero_std", "entropy", "kl", "loss", "grad_norm", "completions/clipped_ratio"}
SEVERITY = {"warn": "warning", "pause": "warning", "stop": "critical", "kill": "critical"}


class HealthConfigError(ValueError):
    """A ``[health]`` section that does not fit :data:`RULES`."""


def resolve(section: dict[str, Any] | None) -> dict[str, Any]:
    """Defaults merged with a ``[health]`` section; problems listed as ``health.rule.key: reason``."""
    section = dict(section or {})
    problems: list[str] = []
    out: dict[str, Any] = {"enabled": True, "rules": {}}
    enabled = section.pop("enabled", True)
    if not isinstance(enabled, bool):
        problems.append(f"health.enabled: expected bool, got {enabled!r}")
    out["enabled"] = bool(enabled)
    for name, params in section.items():
        if name not in RULES:
            import difflib

            m = difflib.get_close_matches(name, list(RULES), n=1)
            problems.append(f"health.{name}: unknown rule" + (f" (did you mean {m[0]!r}?)" if m else ""))
        elif not isinstance(params, dict):
            problems.append(f"health.{name}: expected a table like [health.{name}]")
    for name, defaults in RULES.items():
        rule = dict(defaults, enabled=True)
        given = section.get(name) if isinstance(section.get(name), dict) else {}
        for key, value in given.items():
            if key not in rule:
                problems.append(f"health.{name}.{key}: unknown key (keys: {', '.join(sorted(rule))})")
                continue
            default = rule[key]
            if key == "action":
                if value not in ACTIONS:
                    problems.append(f"health.{name}.action: {value!r} is not one of {', '.join(ACTIONS)}")
                    continue
            elif isinstance(default, bool):
                if not isinstance(value, bool):
                    problems.append(f"health.{name}.{key}: expected bool, got {value!r}")
                    continue
            elif isinstance(default, (int, float)):
                if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                    problems.append(f"health.{name}.{key}: expected a number >= 0, got {value!r}")
                    continue
                if isinstance(default, int) and not isinstance(default, bool) and not float(value).is_integer():
                    problems.append(f"health.{name}.{key}: expected a whole number, got {value!r}")
                    continue
                value = type(default)(value)
            elif isinstance(default, str) and not isinstance(value, str):
                problems.append(f"health.{name}.{key}: expected a string, got {value!r}")
                continue
            elif isinstance(default, list) and (
                    not isinstance(value, list) or not all(isinstance(v, str) for v in value)):
                problems.append(f"health.{name}.{key}: expected a list of metric names")
                continue
            rule[key] = value
        out["rules"][name] = rule
    if problems:
        raise HealthConfigError("\n".join(problems))
    return out


@dataclass(frozen=True)
class Alert:
    """One tripped rule: what, where and why."""

    step: int
    rule: str
    severity: str
    message: str
    action: str
    values: dict[str, Any] = field(default_factory=dict)
    # what tripped it: {"steps": [first, last], "groups": [{"step": s, "group": g}, ...]} (the latest 50)
    evidence: dict[str, Any] = field(default_factory=dict)


EVIDENCE_GROUPS = 50
Hit = tuple[str, dict[str, Any], dict[str, Any]]  # a rule's finding: message, values, evidence


def _evidence(first: int, last: int, groups: Iterable[tuple[int, int]] = ()) -> dict[str, Any]:
    gs = list(groups)[-EVIDENCE_GROUPS:]
    return {"steps": [first, last], "groups": [{"step": s, "group": g} for s, g in gs]}


@dataclass(frozen=True)
class GroupStats:
    """What the rules need from one step's groups."""

    step: int
    groups: int
    group_size: int
    zero_spread: float  # share of groups whose rewards are all equal
    zero_low: float  # share of groups whose rewards are all equal and not the run's best (no signal)
    collapsed: float  # share of groups with near-identical completions, not at the top reward
    distinct: float  # mean share of distinct completions in a group
    accuracy: float | None  # share of right answers among known verdicts
    top_reward: float | None  # the highest reward seen at this step
    low_reward: float | None  # the lowest reward seen at this step
    # the groups behind the shares (their numbers at this step), for an alert's evidence
    zero_low_groups: tuple[int, ...] = ()
    collapsed_groups: tuple[int, ...] = ()
    clipped_groups: tuple[int, ...] = ()  # holding a completion that hit max_completion_length


def group_stats(step: int, groups: Iterable[dict[str, Any]], *, max_distinct: float = 0.25,
                best_reward: float | None = None, worst_reward: float | None = None,
                first_group: int = 0, max_length: int | None = None) -> GroupStats | None:
    """Summarise one step's groups (``{"completions": [{"completion", "reward", "verdict"}]}``).

    A group "at the top" has every reward equal to the best the run has seen, and the run has seen
    better and worse: that is a solved prompt, not a collapse. A run whose rewards never differed has
    no top: all its zero-spread groups count as giving no signal.
    """
    gs = [(first_group + i, g) for i, g in enumerate(groups) if g.get("completions")]
    if not gs:
        return None
    zero_ids: list[int] = []
    collapsed_ids: list[int] = []
    clipped_ids: list[int] = []
    zero = zero_low = collapsed = 0
    distinct_sum = 0.0
    right = known = 0
    finite = [c["reward"] for _, g in gs for c in g["completions"]
              if isinstance(c.get("reward"), (int, float)) and math.isfinite(c["reward"])]
    top = max(finite) if finite else None
    low = min(finite) if finite else None
    best = max((x for x in (top, best_reward) if x is not None), default=None)
    worst = min((x for x in (low, worst_reward) if x is not None), default=None)
    has_top = best is not None and worst is not None and best - worst > 1e-9
    size = 0
    top_count = rewarded = 0
    for gid, g in gs:
        comps = g["completions"]
        size = max(size, len(comps))
        rs = [c.get("reward") for c in comps if isinstance(c.get("reward"), (int, float))
              and math.isfinite(c["reward"])]
        rewarded += len(rs)
        top_count += sum(r >= best - 1e-9 for r in rs) if has_top else 0
        at_top = has_top and bool(rs) and min(rs) >= best - 1e-9
        if rs and max(rs) - min(rs) < 1e-9:
            zero += 1
            zero_low += not at_top
            if not at_top:
                zero_ids.append(gid)
        texts = [str(c.get("completion", "")).strip() for c in comps]
        d = len(set(texts)) / len(texts)
        distinct_sum += d
        if d <= max_distinct and len(texts) > 1 and not at_top:
            collapsed += 1
            collapsed_ids.append(gid)
        if max_length and any(isinstance(c.get("length"), int) and c["length"] >= max_length for c in comps):
            clipped_ids.append(gid)
        for c in comps:
            v = c.get("verdict")
            if v in ("right", "wrong", "unparseable"):
                known += 1
                right += v == "right"
    n = len(gs)
    # The share right, from verdicts where every completion has one; while verdicts are pending (they
    # are judged off the training thread), the share of completions at the run's best reward, which
    # is the same for a 0/1 correctness reward and close to it otherwise.
    total = sum(len(g["completions"]) for _, g in gs)
    if known and known == total:
        accuracy = right / known
    elif has_top and rewarded:
        accuracy = top_count / rewarded
    else:
        accuracy = right / known if known else None
    return GroupStats(step, n, size, zero / n, zero_low / n, collapsed / n, distinct_sum / n, accuracy, top, low,
                      tuple(zero_ids), tuple(collapsed_ids), tuple(clipped_ids))


def _mean(xs: Iterable[float]) -> float:
    xs = [x for x in xs if x is not None and math.isfinite(x)]
    return sum(xs) / len(xs) if xs else math.nan


class HealthMonitor:
    """Feeds on each logged step's metrics and groups; returns the alerts that trip.

    A rule that tripped stays quiet until its condition has cleared (no alert storm), except
    ``numerical``, which acts once and for all.
    """

    def __init__(self, config: dict[str, Any] | None = None, history: int = 1000) -> None:
        cfg = config if config and "rules" in config else resolve(config)
        self.enabled = cfg["enabled"]
        self.rules = {k: v for k, v in cfg["rules"].items() if v.get("enabled", True)}
        self.metrics: dict[str, deque[tuple[int, float]]] = {}
        self.groups: deque[GroupStats] = deque(maxlen=history)
        self._history = history
        self._early: dict[str, list[float]] = {}
        self._tripped: set[str] = set()
        self._best_reward: float | None = None
        self._worst_reward: float | None = None
        self.logged_steps = 0
        self.notes: list[str] = []  # things a rule has to say once (e.g. why it is off), for the runner's log
        self._said_off = False

    # ------------------------------------------------------------------ feeding
    def observe_groups(self, step: int, groups: Iterable[dict[str, Any]], *, first_group: int = 0,
                       max_length: int | None = None) -> None:
        """One generation's groups at ``step`` (numbered from ``first_group``, as recorded)."""
        rule = self.rules.get("mode_collapse", RULES["mode_collapse"])
        stats = group_stats(step, groups, max_distinct=rule["max_distinct"], best_reward=self._best_reward,
                            worst_reward=self._worst_reward, first_group=first_group, max_length=max_length)
        if stats is None:
            return
        if stats.top_reward is not None:
            self._best_reward = max(stats.top_reward, self._best_reward if self._best_reward is not None
                                    else stats.top_reward)
        if stats.low_reward is not None:
            self._worst_reward = min(stats.low_reward, self._worst_reward if self._worst_reward is not None
                                     else stats.low_reward)
        if self.groups and self.groups[-1].step == step:  # several generations at one step: the evidence of all
            prev = self.groups.pop()
            stats = replace(stats, zero_low_groups=prev.zero_low_groups + stats.zero_low_groups,
                            collapsed_groups=prev.collapsed_groups + stats.collapsed_groups,
                            clipped_groups=prev.clipped_groups + stats.clipped_groups)
        self.groups.append(stats)

    def observe_metrics(self, step: int, metrics: dict[str, Any]) -> list[Alert]:
        """Record one logged step and return what trips now."""
        self.logged_steps += 1
        for key, v in metrics.items():
            if (key in _WATCHED or key.startswith("rewards/")) and isinstance(v, (int, float)) \
                    and not isinstance(v, bool):
                self.metrics.setdefault(key, deque(maxlen=self._history)).append((step, float(v)))
                early = self._early.setdefault(key, [])
                if len(early) < 50:
                    early.append(float(v))
        if not self.enabled:
            return []
        alerts = []
        for name, rule in self.rules.items():
            if name == "stall":
                continue
            check = getattr(self, f"_check_{name}")
            hit = check(step, metrics, rule)
            if hit is None:
                if name != "numerical":
                    self._tripped.discard(name)
                continue
            if name in self._tripped:
                continue
            self._tripped.add(name)
            message, values, evidence = hit
            alerts.append(Alert(step, name, SEVERITY[rule["action"]], message, rule["action"], values, evidence))
        return alerts

    def check_stall(self, step: int, since_last_step: float, typical_step: float | None) -> Alert | None:
        """No step for too long (call from the control thread; not while paused)."""
        rule = self.rules.get("stall")
        if not self.enabled or rule is None:
            return None
        limit = max(rule["seconds"], rule["factor"] * typical_step) if typical_step else rule["seconds"]
        if since_last_step < limit:
            self._tripped.discard("stall")
            return None
        if "stall" in self._tripped:
            return None
        self._tripped.add("stall")
        return Alert(step, "stall", SEVERITY[rule["action"]],
                     f"no step for {since_last_step:.0f}s (limit {limit:.0f}s) while the runner is alive",
                     rule["action"], {"seconds": round(since_last_step, 1), "limit": round(limit, 1)},
                     _evidence(step, step))

    # ------------------------------------------------------------------ series
    def _last(self, key: str, n: int) -> list[float]:
        """The last ``n`` values of a metric, oldest first (without copying the whole history)."""
        d = self.metrics.get(key)
        return [v for _, v in itertools.islice(reversed(d), n)][::-1] if d else []

    def _first_step(self, key: str, n: int, step: int) -> int:
        """The step of the first of the last ``n`` values of a metric (``step`` when there are none)."""
        d = self.metrics.get(key)
        if not d:
            return step
        vals = list(itertools.islice(reversed(d), n))
        return vals[-1][0]

    def _recent_groups(self, step: int, window: int) -> list[GroupStats]:
        """Group stats of the last ``window`` steps, newest last (walks back from the end only)."""
        out = []
        for g in reversed(self.groups):
            if g.step <= step - window:
                break
            out.append(g)
        return out[::-1]

    # ------------------------------------------------------------------ rules
    def _check_numerical(self, step: int, m: dict[str, Any], r: dict[str, Any]) -> Hit | None:
        bad = {k: m[k] for k in r["keys"] if isinstance(m.get(k), float) and not math.isfinite(m[k])}
        if not bad:
            return None
        names = ", ".join(f"{k}={v}" for k, v in bad.items())
        return f"non-finite {names} at step {step}", {k: str(v) for k, v in bad.items()}, _evidence(step, step)

    def _check_no_signal(self, step: int, m: dict[str, Any], r: dict[str, Any]) -> Hit | None:
        if self.logged_steps < r["min_steps"]:
            return None
        w = r["window"]
        recent = self._recent_groups(step, w)
        acc = _mean(g.accuracy for g in recent if g.accuracy is not None)
        size = max((g.group_size for g in recent), default=0)
        if len(recent) >= w // 2:
            # from the groups: zero spread below the top (an all-right group is a solved prompt, not
            # a missing signal); by chance (1 - p)^G of groups are all wrong
            frac = _mean(g.zero_low for g in recent)
            chance = (1 - acc) ** size if math.isfinite(acc) else math.nan
        else:  # no groups recorded: TRL's own count, against both ways of having no spread
            frac = _mean(self._last("frac_reward_zero_std", w))
            chance = acc**size + (1 - acc) ** size if math.isfinite(acc) else math.nan
        if not math.isfinite(frac) or not math.isfinite(chance) or size < 2:
            return None
        if frac >= r["threshold"] and frac - chance >= r["margin"] and acc < 0.9:
            first = recent[0].step if len(recent) >= w // 2 else self._first_step("frac_reward_zero_std", w, step)
            return (
                f"{frac:.0%} of groups have zero reward spread below the top over {w} steps (chance at "
                f"accuracy {acc:.2f}, groups of {size}: {chance:.0%}): almost no gradient",
                {"frac_zero_std": round(frac, 4), "chance": round(chance, 4), "accuracy": round(acc, 4),
                 "group_size": size, "window": w},
                _evidence(first, step, [(g.step, i) for g in recent for i in g.zero_low_groups]),
            )
        return None

    def _check_mode_collapse(self, step: int, m: dict[str, Any], r: dict[str, Any]) -> Hit | None:
        if self.logged_steps < r["min_steps"]:
            return None
        recent = self._recent_groups(step, r["window"])
        if len(recent) < max(2, r["window"] // 2):
            return None
        share = _mean(g.collapsed for g in recent)
        if share >= r["share"]:
            distinct = _mean(g.distinct for g in recent)
            return (
                f"{share:.0%} of groups hold near-identical completions (mean {distinct:.0%} distinct) "
                f"over {len(recent)} steps, without being all right",
                {"collapsed_share": round(share, 4), "distinct": round(distinct, 4), "window": len(recent)},
                _evidence(recent[0].step, step, [(g.step, i) for g in recent for i in g.collapsed_groups]),
            )
        return None

    def _check_entropy_collapse(self, step: int, m: dict[str, Any], r: dict[str, Any]) -> Hit | None:
        ent = self._last("entropy", r["window"])
        if self.logged_steps < r["min_steps"] or len(ent) < r["window"]:
            return None
        early = _mean(self._early.get("entropy", [])[: r["early_steps"]])
        now = _mean(ent)
        if now < r["floor"]:
            why = f"below the floor {r['floor']}"
        elif math.isfinite(early) and early > 0 and now < early / r["factor"]:
            why = f"{early / max(now, 1e-12):.0f}x below its early level {early:.3f}"
        else:
            return None
        return (f"entropy {now:.4f} over {len(ent)} steps, {why}",
                {"entropy": round(now, 6), "early": round(early, 6) if math.isfinite(early) else None,
                 "window": len(ent)},
                _evidence(self._first_step("entropy", r["window"], step), step))

    def _check_kl_blowup(self, step: int, m: dict[str, Any], r: dict[str, Any]) -> Hit | None:
        kl = self._last("kl", r["recent"] + r["baseline"])
        if len(kl) < r["recent"]:
            return None
        recent = _mean(kl[-r["recent"] :])
        ev = _evidence(self._first_step("kl", r["recent"], step), step)
        if recent > r["ceiling"]:
            return f"KL {recent:.3g} above the ceiling {r['ceiling']:g}", {"kl": recent, "ceiling": r["ceiling"]}, ev
        base = kl[: -r["recent"]]
        if len(base) >= r["baseline"] // 2:
            med = statistics.median(x for x in base if math.isfinite(x))
            if recent > r["min_kl"] and med > 0 and recent > r["jump"] * med:
                return (f"KL {recent:.3g} is {recent / med:.0f}x its recent median {med:.3g}",
                        {"kl": round(recent, 6), "median": round(med, 6), "ratio": round(recent / med, 2)}, ev)
        return None

    def _check_reward_crash(self, step: int, m: dict[str, Any], r: dict[str, Any]) -> Hit | None:
        w = r["window"]
        vals = self._last("reward", w)
        if self.logged_steps < r["min_steps"] or len(vals) < w:
            return None
        now = _mean(vals)
        if not math.isfinite(now):
            return None
        # the best and worst w-step means so far, kept as the run goes (no pass over the history)
        self._reward_best = max(getattr(self, "_reward_best", now), now)
        self._reward_low = min(getattr(self, "_reward_low", now), now)
        best, span = self._reward_best, max(self._reward_best - self._reward_low, 1e-9)
        if best - now >= r["min_drop"] and best - now >= r["drop"] * max(abs(best), span):
            return (f"mean reward {now:.3f} over {w} steps, down from its best {best:.3f}",
                    {"reward": round(now, 4), "best": round(best, 4), "window": w},
                    _evidence(self._first_step("reward", w, step), step))
        return None

    def _check_reward_hacking(self, step: int, m: dict[str, Any], r: dict[str, Any]) -> Hit | None:
        funcs = sorted(k.split("/")[1] for k in self.metrics if k.startswith("rewards/") and k.endswith("/mean"))
        if len(funcs) < 2:
            return None
        primary = r["primary"] or ("correctness" if "correctness" in funcs else "")
        if primary not in funcs:
            if not self._said_off:
                self._said_off = True
                self.notes.append("health rule reward_hacking is off: no correctness function among "
                                  f"{', '.join(funcs)} (set health.reward_hacking.primary)")
            return None
        w = r["window"]
        if self.logged_steps < r["min_steps"]:
            return None
        halves, errors = {}, {}
        for f in funcs:
            vals = [v for v in self._last(f"rewards/{f}/mean", w) if math.isfinite(v)]
            if len(vals) < w:
                return None
            a, b = vals[: w // 2], vals[w // 2 :]
            halves[f] = (statistics.fmean(a), statistics.fmean(b))
            errors[f] = math.sqrt(statistics.variance(a) / len(a) + statistics.variance(b) / len(b))
        p0, p1 = halves[primary]
        fell = p0 - p1
        if fell < r["fall"] or fell < r["z"] * errors[primary]:
            return None
        risers = [(f, a, b) for f, (a, b) in halves.items() if f != primary
                  and b - a >= r["rise"] and b - a >= r["z"] * errors[f]]
        if not risers:
            return None
        f, a, b = max(risers, key=lambda x: x[2] - x[1])
        shares = self._variance_shares(funcs, w)
        share = ""
        if f in shares:
            s0, s1 = shares[f]
            share = f"; {f}'s share of the reward variance {s0:.0%} -> {s1:.0%}"
        return (
            f"{f} mean {a:.2f} -> {b:.2f} over {w} steps while {primary} fell {p0:.2f} -> {p1:.2f}{share}: the "
            f"policy may be earning {f} without solving the problems",
            {"function": f, "rise": [round(a, 4), round(b, 4)], "primary": primary,
             "fall": [round(p0, 4), round(p1, 4)],
             "variance_share": {k: [round(x, 4) for x in v] for k, v in shares.items()}, "window": w},
            _evidence(self._first_step(f"rewards/{primary}/mean", w, step), step),
        )

    def _variance_shares(self, funcs: list[str], w: int) -> dict[str, tuple[float, float]]:
        """Each function's share of the summed reward variance (from TRL's ``rewards/<f>/std``), in the
        earlier and the later half of the window (unweighted)."""
        var = {}
        for f in funcs:
            sd = self._last(f"rewards/{f}/std", w)
            if len(sd) < w:
                return {}
            var[f] = (_mean(x * x for x in sd[: w // 2]), _mean(x * x for x in sd[w // 2 :]))
        out = {}
        for i in (0, 1):
            total = sum(v[i] for v in var.values())
            for f, v in var.items():
                out.setdefault(f, [0.0, 0.0])[i] = v[i] / total if total > 0 else 0.0
        return {f: (v[0], v[1]) for f, v in out.items()}

    def _check_length_runaway(self, step: int, m: dict[str, Any], r: dict[str, Any]) -> Hit | None:
        clipped = self._last("completions/clipped_ratio", r["window"])
        if self.logged_steps < r["min_steps"] or len(clipped) < r["window"]:
            return None
        now = _mean(clipped)
        early = _mean(self._early.get("completions/clipped_ratio", [])[: r["early_steps"]])
        if now >= r["threshold"] and (not math.isfinite(early) or now - early >= r["rise"]):
            first = self._first_step("completions/clipped_ratio", r["window"], step)
            groups = [(g.step, i) for g in self._recent_groups(step, step - first + 1) for i in g.clipped_groups]
            return (f"{now:.0%} of completions hit max_completion_length over {len(clipped)} steps "
                    f"(at the start: {early:.0%})",
                    {"clipped_ratio": round(now, 4), "early": round(early, 4) if math.isfinite(early) else None},
                    _evidence(first, step, groups))
        return None


def replay(metrics: Iterable[tuple[int, dict[str, Any]]], groups_by_step: dict[int, list[dict[str, Any]]] | None = None,
           config: dict[str, Any] | None = None) -> list[Alert]:
    """Run recorded series through the rules, as the runner would have: every alert, in order."""
    mon = HealthMonitor(config)
    out: list[Alert] = []
    for step, m in metrics:
        if groups_by_step and step in groups_by_step:
            mon.observe_groups(step, groups_by_step[step])
        out.extend(mon.observe_metrics(step, m))
    return out
