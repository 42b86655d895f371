"""Held-out evaluations: what the run generated for problems it never trains on, kept apart from training.

An evaluation follows a training step (``step``; 0 is the baseline before the first): each problem is a
group of ``k`` samples with their verdicts, in ``eval_completions``, never in ``groups`` / ``completions``,
so training curves, health rules and per-prompt statistics never see them. ``evals`` holds one row per
evaluation with TRL's own ``eval_*`` logs. The figures (accuracy: the share of samples right, an estimate
of pass@1; pass@k: the share of problems with at least one right sample; unparseable; mean length) are
computed from the rows when read, so verdicts judged later by the judge process count as they arrive.
Standard library only; the SQL for these tables lives here.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

TABLES = """
CREATE TABLE IF NOT EXISTS evals (
    step INTEGER PRIMARY KEY,
    t REAL NOT NULL,
    trl TEXT
);
CREATE TABLE IF NOT EXISTS eval_completions (
    step INTEGER NOT NULL,
    grp INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    prompt TEXT NOT NULL,
    expected TEXT,
    completion TEXT NOT NULL,
    answer TEXT,
    verdict TEXT,
    reward REAL,
    rewards TEXT,
    length INTEGER,
    verdict_reason TEXT,
    UNIQUE (step, grp, idx)
)"""
MIGRATION = tuple(s.strip() for s in TABLES.split(";") if s.strip())

# The keys an evaluation's figures have, as metrics (``export --what metrics`` and the curves).
KEYS = ("eval/accuracy", "eval/pass@k", "eval/k", "eval/unparseable", "eval/mean_length", "eval/problems",
        "eval/pending")


def insert(c: sqlite3.Connection, step: int, t: float, groups: list[dict[str, Any]], first_group: int) -> None:
    """One generation of an evaluation: ``groups`` as the recorder builds them (a first batch replaces an
    evaluation recorded at that step before: a resumed run evaluates its checkpoint's step again)."""
    if first_group == 0:
        c.execute("DELETE FROM eval_completions WHERE step = ?", (step,))
    c.execute("INSERT OR IGNORE INTO evals (step, t) VALUES (?, ?)", (step, t))
    rows = []
    for n, g in enumerate(groups):
        for idx, comp in enumerate(g["completions"]):
            rows.append((step, first_group + n, idx, g["prompt"], g.get("expected"), comp["completion"],
                         comp.get("answer"), comp.get("verdict"), comp.get("reward"),
                         json.dumps(comp.get("rewards") or {}, separators=(",", ":"), default=str),
                         comp.get("length"), comp.get("verdict_reason")))
    c.executemany("INSERT OR REPLACE INTO eval_completions (step, grp, idx, prompt, expected, completion, answer,"
                  " verdict, reward, rewards, length, verdict_reason) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)


def set_trl_logs(c: sqlite3.Connection, step: int, t: float, logs: dict[str, Any]) -> None:
    c.execute("INSERT OR IGNORE INTO evals (step, t) VALUES (?, ?)", (step, t))
    c.execute("UPDATE evals SET trl = ? WHERE step = ?", (json.dumps(logs, separators=(",", ":"), default=str), step))


SUMMARY_SQL = """
SELECT e.step, e.t, e.trl, s.n, s.n_right, s.n_unparseable, s.n_pending, s.mean_length, s.problems, s.k, s.solved
FROM evals e LEFT JOIN (
    SELECT step, SUM(n) AS n, SUM(n_right) AS n_right, SUM(n_unparseable) AS n_unparseable,
           SUM(n_pending) AS n_pending, SUM(len_sum) / NULLIF(SUM(len_n), 0) AS mean_length,
           COUNT(*) AS problems, MAX(n) AS k, SUM(n_right > 0) AS solved
    FROM (SELECT step, grp, COUNT(*) AS n, SUM(verdict = 'right') AS n_right,
                 SUM(verdict = 'unparseable') AS n_unparseable, SUM(verdict = 'pending') AS n_pending,
                 SUM(length) * 1.0 AS len_sum, COUNT(length) AS len_n
          FROM eval_completions GROUP BY step, grp)
    GROUP BY step
) s ON s.step = e.step
ORDER BY e.step"""


def summary(c: sqlite3.Connection) -> list[dict[str, Any]]:
    """Every evaluation's figures, oldest first: ``{"step", "t", "eval/accuracy", "eval/pass@k", "eval/k",
    "eval/unparseable", "eval/mean_length", "eval/problems", "eval/pending", "trl": {...}}``. Accuracy and
    unparseable are shares of the samples judged so far; pass@k of the problems (None while none is judged)."""
    out = []
    for step, t, trl, n, right, unp, pending, mean_len, problems, k, solved in c.execute(SUMMARY_SQL):
        judged = (n or 0) - (pending or 0)
        out.append({
            "step": step, "t": t,
            "eval/accuracy": right / judged if judged else None,
            "eval/pass@k": solved / problems if judged and problems else None,
            "eval/k": k, "eval/unparseable": unp / judged if judged else None,
            "eval/mean_length": mean_len, "eval/problems": problems or 0, "eval/pending": pending or 0,
            "trl": json.loads(trl) if trl else {},
        })
    return out
