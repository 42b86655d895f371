"""Comparing runs: the config keys in which they differ, their headline figures, the groups two runs
share at one step, and the prompts one learned and another did not (light: standard library and the
store only; the TUI and ``grpotui diff`` use it).
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from grpotui.notify import mask
from grpotui.report import duration, short
from grpotui.store.db import Group, RunStore, reward_figures
from grpotui.store.prompts import learned_only
from grpotui.store.runs import effective_status, run_note, run_tags

# Keys that say nothing about how a run trains.
IGNORED_KEYS = ("run.name", "run.note", "cwd")
MISSING = object()


def flatten(cfg: Any, prefix: str = "") -> dict[str, Any]:
    """``{"training": {"beta": 0.04}}`` -> ``{"training.beta": 0.04}`` (lists stay values)."""
    out: dict[str, Any] = {}
    if isinstance(cfg, dict):
        for k, v in cfg.items():
            key = f"{prefix}.{k}" if prefix else str(k)
            if isinstance(v, dict) and v:
                out.update(flatten(v, key))
            elif key == "notify.webhook":  # a secret: its host is enough to tell runs apart
                out[key] = mask(v)
            else:
                out[key] = v
    return out


def config_diff(configs: list[dict[str, Any]]) -> list[tuple[str, list[Any]]]:
    """The keys whose values differ between the configs, each with every config's value (``MISSING``
    where a config lacks the key), in key order."""
    flat = [flatten(c) for c in configs]
    keys = sorted(set().union(*flat)) if flat else []
    out = []
    for key in keys:
        if key in IGNORED_KEYS:
            continue
        values = [f.get(key, MISSING) for f in flat]
        if any(_canon(v) != _canon(values[0]) for v in values[1:]):
            out.append((key, values))
    return out


def _canon(v: Any) -> str:
    """Equal values compare equal whatever their spelling (1e-5 and 0.00001, 1 and 1.0)."""
    if v is MISSING:
        return "\0missing"
    if isinstance(v, bool) or v is None:
        return json.dumps(v)
    if isinstance(v, (int, float)):
        return repr(float(v))
    return json.dumps(v, sort_keys=True, default=str)


def show_value(v: Any) -> str:
    if v is MISSING:
        return "–"
    if isinstance(v, str):
        return v
    if isinstance(v, float):
        return f"{v:g}"
    return json.dumps(v, default=str)


@dataclass
class Headline:
    """What a run came to, in a few figures."""

    name: str
    status: str
    step: int
    max_steps: int | None
    seconds: float | None
    final_reward: float | None
    best_reward: float | None
    best_step: int | None
    final_kl: float | None
    window: int
    alerts: Counter
    note: str
    tags: list[str]
    config: dict[str, Any]
    final_functions: dict[str, float]
    path: str | None = field(default=None, repr=False)  # the store (its per-prompt statistics are compared)
    # of the prompts every compared run saw: how many (the same for every run), and how many this run learned
    # and no other did; None for a store before per-prompt statistics, or before :func:`with_learned`
    prompts_shared: int | None = None
    learned_only: int | None = None
    # the held-out evaluations' accuracy: the newest and the best, with their steps (None: no evaluation)
    final_eval: float | None = None
    best_eval: float | None = None
    final_eval_step: int | None = None
    best_eval_step: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "status": self.status, "step": self.step, "max_steps": self.max_steps,
            "seconds": self.seconds, "final_reward": self.final_reward, "best_reward": self.best_reward,
            "best_step": self.best_step, "final_kl": self.final_kl, "window": self.window,
            "alerts": dict(self.alerts), "note": self.note, "tags": self.tags,
            "final_functions": self.final_functions, "final_eval_accuracy": self.final_eval,
            "best_eval_accuracy": self.best_eval, "final_eval_step": self.final_eval_step,
            "best_eval_step": self.best_eval_step,
        }


def _mean(xs: list[Any]) -> float | None:
    xs = [x for x in xs if isinstance(x, (int, float)) and math.isfinite(x)]
    return sum(xs) / len(xs) if xs else None


def headline(store: RunStore, name: str | None = None, *, now: float | None = None) -> Headline:
    """Final and best reward (means over a window of logged steps, so one lucky step does not count),
    steps, time, final KL and alerts of one run."""
    info = store.run_info()
    fast = store.reward_headline()  # kept by the writer, or the reward's own column: no JSON parsed
    if fast is not None:
        final, best, best_step, w = fast
        rows = store.last_metrics(w)
    else:  # a store from before that column: every row is read
        rows = store.metrics()
        final, best, best_step, w = reward_figures(
            [(st, m.get("reward")) for st, m in rows if isinstance(m.get("reward"), (int, float))])
    kls = [m.get("kl") for _, m in rows[-w:]]
    funcs: dict[str, float] = {}
    for key in sorted({k for _, m in rows[-w:] for k in m if k.startswith("rewards/") and k.endswith("/mean")}):
        v = _mean([m.get(key) for _, m in rows[-w:]])
        if v is not None:
            funcs[key.split("/")[1]] = v
    started, ended = info.get("started_at"), info.get("ended_at")
    status = effective_status(info)
    if started:
        end = ended or (info.get("heartbeat_at") if status == "lost" else None) or now or time.time()
        seconds: float | None = max(0.0, end - started)
    else:
        seconds = None
    judged = [e for e in store.evals() if e["eval/accuracy"] is not None]
    best_e = max(judged, key=lambda e: e["eval/accuracy"], default=None)  # the earliest of equal ones
    return Headline(
        final_eval=judged[-1]["eval/accuracy"] if judged else None,
        final_eval_step=judged[-1]["step"] if judged else None,
        best_eval=best_e["eval/accuracy"] if best_e else None, best_eval_step=best_e["step"] if best_e else None,
        name=name or info["name"], status=status, step=store.last_step(), max_steps=info["max_steps"],
        seconds=seconds, final_reward=final, best_reward=best, best_step=best_step, final_kl=_mean(kls),
        window=w, alerts=Counter(a["rule"] for a in store.alerts()), note=run_note(store, info),
        tags=run_tags(store), config=info["config"] or {}, final_functions=funcs,
        path=str(store.path),
    )


def with_learned(heads: list[Headline]) -> list[Headline]:
    """The headlines with, of the prompts every run saw, how many there are and how many each run learned
    and no other run did (status ``learned`` there, anything else in every other run): one SQL join over
    the stores (see :func:`grpotui.store.prompts.learned_only`); left None where a run cannot be read or
    does not keep per-prompt statistics."""
    paths = [h.path for h in heads]
    if len(heads) < 2 or any(p is None for p in paths):
        return heads
    found = learned_only(paths)
    if found is None:
        return heads
    shared, only = found
    return [replace(h, prompts_shared=shared, learned_only=n) for h, n in zip(heads, only, strict=True)]


def placeholder(name: str, status: str) -> Headline:
    """The figures of a run that cannot be read: none."""
    return Headline(name=name, status=status, step=0, max_steps=None, seconds=None, final_reward=None,
                    best_reward=None, best_step=None, final_kl=None, window=1, alerts=Counter(), note="",
                    tags=[], config={}, final_functions={})


def common_step(stores: list[RunStore], lasts: list[int]) -> int | None:
    """The newest step at which every store recorded groups (the newest of the run furthest behind
    when they share none)."""
    if not lasts or len(lasts) < len(stores):
        return max(lasts) if lasts else None
    cand: int | None = min(lasts)
    for _ in range(1000):
        missing = next((s for s in stores if not s.count_groups(cand)), None)
        if missing is None:
            return cand
        cand = missing.neighbor_step(cand, -1)
        if cand is None:
            break
    return min(lasts)


def _fmt(v: float | None, fmt: str = ".3f") -> str:
    return "–" if v is None else format(v, fmt)


def figure_rows(heads: list[Headline]) -> list[tuple[str, list[str]]]:
    """The headline figures as (label, one cell per run) rows, for the text diff and the TUI table."""
    w = heads[0].window if heads and len({h.window for h in heads}) == 1 else None
    over = f" ({w}-step mean)" if w and w > 1 else ""
    rows = [
        ("status", [h.status for h in heads]),
        ("steps", [f"{h.step}/{h.max_steps}" if h.max_steps else str(h.step) for h in heads]),
        ("time", [duration(h.seconds) for h in heads]),
        (f"final reward{over}", [_fmt(h.final_reward) for h in heads]),
        (f"best reward{over}", [f"{_fmt(h.best_reward)} @ {h.best_step}" if h.best_reward is not None else "–"
                                for h in heads]),
    ]
    for f in sorted({f for h in heads for f in h.final_functions}):
        rows.append((f"final {f}", [_fmt(h.final_functions.get(f)) for h in heads]))
    rows.append(("final KL", [_fmt(h.final_kl, ".4f") for h in heads]))
    if any(h.final_eval_step is not None for h in heads):
        rows.append(("final held-out accuracy", [f"{_fmt(h.final_eval)} @ {h.final_eval_step}" if h.final_eval
                                                 is not None else "–" for h in heads]))
        rows.append(("best held-out accuracy", [f"{_fmt(h.best_eval)} @ {h.best_eval_step}" if h.best_eval
                                                is not None else "–" for h in heads]))
    if len(heads) > 1:
        known = all(h.learned_only is not None for h in heads)
        rows.append((f"learned only here (of {heads[0].prompts_shared if known else 0} shared)",
                     [str(h.learned_only) if known else "–" for h in heads]))
    rows.append(("alerts", [
        str(sum(h.alerts.values())) + (" (" + ", ".join(f"{r} ×{n}" for r, n in h.alerts.most_common()) + ")"
                                       if h.alerts else "")
        for h in heads
    ]))
    return rows


def diff_text(heads: list[Headline]) -> str:
    """``grpotui diff``: the differing config keys, then the headline figures, as aligned plain text."""
    diff = config_diff([h.config for h in heads])
    table: list[tuple[str, list[str]]] = [("", [h.name for h in heads])]
    table.append((config_title(len(diff)), []))
    table += [(f"  {k}", [show_value(v) for v in vals]) for k, vals in diff]
    table.append(("figures", []))
    table += [(f"  {label}", cells) for label, cells in figure_rows(heads)]
    notes = [h.note for h in heads]
    if any(notes):
        table.append(("  note", [short(n, 48) or "–" for n in notes]))
    label_w = max(len(label) for label, _ in table)
    widths = [max([len(cells[i]) for _, cells in table if len(cells) > i] + [1]) for i in range(len(heads))]
    lines = []
    for label, cells in table:
        line = label.ljust(label_w)
        for i, c in enumerate(cells):
            line += "  " + (c.ljust(widths[i]) if i < len(cells) - 1 else c)
        lines.append(line.rstrip())
    return "\n".join(lines)


def config_title(n: int) -> str:
    if not n:
        return "config: the same"
    return f"config: {n} key{'s differ' if n != 1 else ' differs'}"


def _key(prompt: str) -> str:
    return " ".join(prompt.split())


def align_groups(per_run: list[list[Group]]) -> tuple[list[list[Group]], int]:
    """Order each run's groups of one step so that prompts the runs share come first, in the same order
    in every run (the first run's), then each run's other groups. Returns the orders and how many
    prompts every run shares."""
    keys = [{_key(g.prompt) for g in gs} for gs in per_run]
    shared = set.intersection(*keys) if keys else set()
    first = sorted(per_run[0], key=lambda g: g.grp) if per_run else []
    order = list(dict.fromkeys(_key(g.prompt) for g in first if _key(g.prompt) in shared))
    rank = {k: i for i, k in enumerate(order)}
    out = []
    for gs in per_run:
        out.append(sorted(gs, key=lambda g: (rank.get(_key(g.prompt), len(rank)), g.grp)))
    return out, len(order)


def same_prompt(a: Group, b: Group) -> bool:
    return _key(a.prompt) == _key(b.prompt)
