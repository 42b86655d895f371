"""Plain-text views of runs for the CLI and the runner's log (light: no textual, no torch)."""

from __future__ import annotations

import time
from typing import Any


def _f(m: dict[str, Any], key: str, fmt: str = ".3f") -> str:
    v = m.get(key)
    return format(v, fmt) if isinstance(v, (int, float)) and not isinstance(v, bool) else "-"


def progress_line(step: int, max_steps: int | None, m: dict[str, Any]) -> str:
    """One line per logged step: what the runner's log and ``--headless`` show."""
    total = f"/{max_steps}" if max_steps and max_steps > 0 else ""
    return (
        f"step {step}{total}  reward {_f(m, 'reward')}  reward_std {_f(m, 'reward_std')}"
        f"  kl {_f(m, 'kl', '.4f')}  loss {_f(m, 'loss', '.4f')}  entropy {_f(m, 'entropy')}"
        f"  len {_f(m, 'completions/mean_length', '.1f')}"
    )


def age(t: float | None, now: float | None = None) -> str:
    if not t:
        return "-"
    s = max(0, int((now or time.time()) - t))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h{(s % 3600) // 60:02d}m"
    return f"{s // 86400}d{(s % 86400) // 3600}h"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(seconds)
    return f"{s // 3600}:{(s % 3600) // 60:02d}:{s % 60:02d}"


def ls_table(runs: list[dict[str, Any]]) -> str:
    if not runs:
        return "no runs yet: try `grpotui demo`"
    rows = [("NAME", "STATUS", "STEP", "REWARD", "EVAL", "ALERTS", "AGE", "TAGS", "NOTE")]
    for r in runs:
        step = f"{r.get('step') or 0}/{r['max_steps']}" if r.get("max_steps") else str(r.get("step") or 0)
        reward = r.get("reward")
        rows.append(
            (
                r["name"],
                r["status"],
                step,
                f"{reward:.3f}" if isinstance(reward, (int, float)) else "-",
                eval_text(r),
                str(len(r.get("alerts") or [])),
                age(r.get("created_at")),
                ",".join(r.get("tags") or []),
                short(r.get("note") or "", 50),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)).rstrip() for row in rows)


def eval_text(r: dict[str, Any]) -> str:
    """The newest held-out accuracy of a run's summary: "0.42" ("-": none; "…": its samples not yet judged)."""
    if r.get("eval_step") is None:
        return "-"
    acc = r.get("eval_accuracy")
    return f"{acc:.2f}" if isinstance(acc, (int, float)) else "…"


def short(text: str, n: int) -> str:
    """``text`` on one line, cut to ``n`` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def status_text(s: dict[str, Any]) -> str:
    lines = [
        f"{s['name']}: {s['status']}" + (f" ({s['reason']})" if s.get("reason") else ""),
        f"  step      {s.get('step')}" + (f"/{s['max_steps']}" if s.get("max_steps") else ""),
        f"  backend   {s.get('backend') or '-'}   model {s.get('model') or '-'}",
        f"  pid       {s.get('pid') or '-'} on {s.get('host') or '-'}",
        f"  started   {_when(s.get('started_at'))}   ended {_when(s.get('ended_at'))}"
        f"   exit code {s.get('exit_code') if s.get('exit_code') is not None else '-'}",
    ]
    if s.get("eval_step") is not None:
        lines.append(f"  held-out  accuracy {eval_text(s)} at the evaluation of step {s['eval_step']}")
    if s.get("verdicts_pending"):
        lines.append(f"  verdicts  {s['verdicts_pending']} completions still to judge (judged off the training "
                     "thread, at idle priority)")
    machines = s.get("machines") or []
    if len(machines) > 1:
        lines.append("  machines  " + ", ".join(f"{m.get('machine')} {m.get('host')} ({m.get('processes')} process"
                                                f"{'es' if m.get('processes') != 1 else ''})" for m in machines))
    threads = s.get("cpu_threads") or {}
    if threads.get("description"):
        lines.append(f"  cpu       {threads['description']}")
    if s.get("tags"):
        lines.append(f"  tags      {' '.join(s['tags'])}")
    if s.get("note"):
        lines.append(f"  note      {s['note']}")
    m = s.get("metrics") or {}
    if m:
        lines.append(f"  latest    {progress_line(s.get('metrics_step') or 0, None, m)}")
    alerts = s.get("alerts") or []
    lines.append(f"  alerts    {len(alerts)}")
    for a in alerts[-5:]:
        lines.append(f"    step {a['step']}  {a['severity']}  {a['rule']}: {a['message']}")
    return "\n".join(lines)


def _when(t: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) if t else "-"
