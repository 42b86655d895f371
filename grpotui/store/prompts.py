"""Per-prompt statistics: every dataset problem's history through a run (SQL; used by ``RunStore``).

A prompt is identified by its ``pkey``: the dataset row's own question text where grpotui built the
prompt (so runs that differ only in system prompt or template share their problems), else the recorded
prompt text (a watched script). Each group row carries its own counts (``n``, ``n_right``,
``n_pending``, ``reward_sum``, ``reward_n``, ``zero_spread``), written with the group and updated when
verdicts arrive; the ``prompts`` table keeps one row per prompt, refreshed from that prompt's groups
(an indexed range) whenever one of them is written or judged. Nothing here scans a whole run when asked,
except once for a store recorded before schema 3 (see :func:`attach_computed`).

A completion counts as *right* when its verdict is ``right``; in a group without an expected answer
(no verdicts at all) when its total reward is at least :data:`SOLVED_REWARD`. A solve rate is the share
of a group's judged completions that are right (pending ones are left out, and counted as pending).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

SOLVED_REWARD = 1.0  # without an expected answer: a completion with at least this total reward is "right"
LOW, HIGH = 0.25, 0.75  # solve rates: at most LOW is low, at least HIGH is high
STATUSES = ("once", "never", "always", "learned", "forgotten", "mixed")
FIELDS = ("prompt", "question", "row", "expected", "groups", "completions", "right", "pending", "first_step",
          "last_step", "first_solve_rate", "last_solve_rate", "mean_reward", "zero_spread_groups", "status")
SORTABLE = FIELDS  # numbers sort high first, text low first

GROUP_COLUMNS = (
    ("question", "TEXT"), ("row", "INTEGER"), ("pkey", "TEXT"), ("n", "INTEGER"), ("n_right", "INTEGER"),
    ("n_pending", "INTEGER"), ("reward_sum", "REAL"), ("reward_n", "INTEGER"), ("zero_spread", "INTEGER"),
)
PROMPTS_TABLE = """CREATE TABLE IF NOT EXISTS {db}prompts (
    pkey TEXT PRIMARY KEY,
    prompt TEXT NOT NULL,
    question TEXT,
    row INTEGER,
    expected TEXT,
    groups INTEGER NOT NULL,
    completions INTEGER NOT NULL,
    n_right INTEGER NOT NULL,
    n_pending INTEGER NOT NULL,
    reward_sum REAL NOT NULL,
    reward_n INTEGER NOT NULL,
    zero_spread_groups INTEGER NOT NULL,
    first_step INTEGER NOT NULL,
    first_grp INTEGER NOT NULL,
    first_rate REAL,
    last_step INTEGER NOT NULL,
    last_grp INTEGER NOT NULL,
    last_rate REAL
)"""
GROUPS_INDEX = "CREATE INDEX IF NOT EXISTS {db}groups_pkey ON groups (pkey, step, grp)"

# Schema 3's migration (the writing side): new columns, the table, the index, then every existing group
# counted and every prompt computed once.
MIGRATION: tuple[Any, ...] = (
    *(f"ALTER TABLE groups ADD COLUMN {name} {kind}" for name, kind in GROUP_COLUMNS),
    PROMPTS_TABLE.format(db=""),
    GROUPS_INDEX.format(db=""),
    lambda c: backfill(c),
)


def group_counts(expected: Any, completions: Sequence[dict[str, Any]]) -> tuple[int, int, int, float, int, int]:
    """``(n, n_right, n_pending, reward_sum, reward_n, zero_spread)`` of a group about to be written."""
    rewards = [r for r in (c.get("reward") for c in completions) if isinstance(r, (int, float)) and r == r]
    if expected is None:
        right = sum(1 for r in rewards if r >= SOLVED_REWARD)
    else:
        right = sum(1 for c in completions if c.get("verdict") == "right")
    pending = sum(1 for c in completions if c.get("verdict") == "pending")
    zero = int(bool(rewards) and max(rewards) == min(rewards))
    return len(completions), right, pending, float(sum(rewards)), len(rewards), zero


_RECOUNT = """UPDATE {db}groups SET
    n = (SELECT COUNT(*) FROM {src}completions c WHERE c.step = {db}groups.step AND c.grp = {db}groups.grp),
    n_right = (SELECT COUNT(*) FROM {src}completions c WHERE c.step = {db}groups.step AND c.grp = {db}groups.grp
               AND CASE WHEN {db}groups.expected IS NULL THEN c.reward >= {solved} ELSE c.verdict = 'right' END),
    n_pending = (SELECT COUNT(*) FROM {src}completions c WHERE c.step = {db}groups.step
                 AND c.grp = {db}groups.grp AND c.verdict = 'pending'),
    reward_sum = (SELECT COALESCE(SUM(c.reward), 0) FROM {src}completions c WHERE c.step = {db}groups.step
                  AND c.grp = {db}groups.grp),
    reward_n = (SELECT COUNT(c.reward) FROM {src}completions c WHERE c.step = {db}groups.step
                AND c.grp = {db}groups.grp),
    zero_spread = (SELECT COUNT(c.reward) > 0 AND MAX(c.reward) = MIN(c.reward) FROM {src}completions c
                   WHERE c.step = {db}groups.step AND c.grp = {db}groups.grp)"""


def recount(c: sqlite3.Connection, keys: Iterable[tuple[int, int]]) -> set[str]:
    """Count the groups ``(step, grp)`` again from their completions (verdicts arrived); returns their
    prompts' keys."""
    keys = sorted(set(keys))
    sql = _RECOUNT.format(db="", src="", solved=SOLVED_REWARD) + " WHERE step = ? AND grp = ?"
    c.executemany(sql, keys)
    out: set[str] = set()
    for step, grp in keys:
        row = c.execute("SELECT pkey FROM groups WHERE step = ? AND grp = ?", (step, grp)).fetchone()
        if row and row[0] is not None:
            out.add(row[0])
    return out


def refresh(c: sqlite3.Connection, pkeys: Iterable[str], db: str = "") -> None:
    """Recompute the ``prompts`` rows of ``pkeys`` from their groups (an indexed range each)."""
    keys = sorted(set(pkeys))
    for i in range(0, len(keys), 400):  # SQLite's bound-parameter limit
        chunk = keys[i : i + 400]
        where = f"pkey IN ({','.join('?' * len(chunk))})"
        c.execute(f"DELETE FROM {db}prompts WHERE {where}", chunk)
        c.execute(_insert_prompts(db, where), chunk * 2)


# Every group of a store with its counts, in one pass over the completions (in their (step, grp, idx) order).
_COUNTED_GROUPS = f"""SELECT g.step, g.grp, g.prompt, g.expected, NULL AS question, NULL AS row, g.prompt AS pkey,
    COUNT(c.idx) AS n,
    COALESCE(SUM(CASE WHEN g.expected IS NULL THEN c.reward >= {SOLVED_REWARD} ELSE c.verdict = 'right' END), 0)
        AS n_right,
    COALESCE(SUM(c.verdict = 'pending'), 0) AS n_pending,
    COALESCE(SUM(c.reward), 0.0) AS reward_sum, COUNT(c.reward) AS reward_n,
    (COUNT(c.reward) > 0 AND MAX(c.reward) = MIN(c.reward)) AS zero_spread
    FROM {{src}}groups g LEFT JOIN {{src}}completions c ON c.step = g.step AND c.grp = g.grp
    GROUP BY g.step, g.grp"""


def _insert_prompts(db: str, where: str) -> str:
    """The ``prompts`` rows of the groups ``where`` selects, in one statement (window functions pick each
    prompt's first and last group); ``where`` appears twice, so its parameters are given twice."""
    rate = "CASE WHEN {g}.n - {g}.n_pending > 0 THEN {g}.n_right * 1.0 / ({g}.n - {g}.n_pending) END"
    return f"""INSERT INTO {db}prompts
        WITH w AS (SELECT *, ROW_NUMBER() OVER (PARTITION BY pkey ORDER BY step, grp) AS rn_first,
                             ROW_NUMBER() OVER (PARTITION BY pkey ORDER BY step DESC, grp DESC) AS rn_last
                   FROM {db}groups WHERE {where})
        SELECT a.pkey, l.prompt, l.question, l.row, l.expected, a.groups, a.n, a.n_right, a.n_pending,
               a.reward_sum, a.reward_n, a.zero_spread, f.step, f.grp, {rate.format(g='f')},
               l.step, l.grp, {rate.format(g='l')}
        FROM (SELECT pkey, COUNT(*) AS groups, COALESCE(SUM(n), 0) AS n, COALESCE(SUM(n_right), 0) AS n_right,
                     COALESCE(SUM(n_pending), 0) AS n_pending, COALESCE(SUM(reward_sum), 0.0) AS reward_sum,
                     COALESCE(SUM(reward_n), 0) AS reward_n, COALESCE(SUM(zero_spread), 0) AS zero_spread
              FROM {db}groups WHERE {where} GROUP BY pkey) a
        JOIN w f ON f.pkey = a.pkey AND f.rn_first = 1
        JOIN w l ON l.pkey = a.pkey AND l.rn_last = 1"""


def _all_prompts(c: sqlite3.Connection, db: str) -> None:
    """Every prompt from its groups."""
    c.execute(f"DELETE FROM {db}prompts")
    c.execute(_insert_prompts(db, "pkey IS NOT NULL"))


def backfill(c: sqlite3.Connection) -> None:
    """Count every group and compute every prompt (the writing side, migrating a store from before schema 3):
    the counts in one pass into a temporary table, then into the groups, then every prompt at once."""
    c.execute("DROP TABLE IF EXISTS temp.counted")
    c.execute(f"CREATE TEMP TABLE counted AS {_COUNTED_GROUPS.format(src='main.')}")
    c.execute("CREATE UNIQUE INDEX temp.counted_step ON counted (step, grp)")
    cols = ("n", "n_right", "n_pending", "reward_sum", "reward_n", "zero_spread")
    sets = ", ".join(f"{k} = (SELECT {k} FROM temp.counted t WHERE t.step = groups.step AND t.grp = groups.grp)"
                     for k in cols)
    c.execute(f"UPDATE groups SET pkey = prompt, {sets} WHERE pkey IS NULL")
    c.execute("DROP TABLE temp.counted")
    _all_prompts(c, "")


def attach_computed(conn: sqlite3.Connection) -> str:
    """For a store before schema 3 opened read-only: compute its prompts once into an attached in-memory
    database (the store itself is never written by a reader); returns the schema prefix to read from."""
    conn.execute("ATTACH DATABASE ':memory:' AS pstats")
    conn.execute(f"CREATE TABLE pstats.groups AS {_COUNTED_GROUPS.format(src='main.')}")
    conn.execute(PROMPTS_TABLE.format(db="pstats."))
    conn.execute("CREATE INDEX pstats.groups_pkey ON groups (pkey, step, grp)")
    conn.execute("CREATE UNIQUE INDEX pstats.groups_step ON groups (step, grp)")
    _all_prompts(conn, "pstats.")
    return "pstats."


def _select(db: str) -> str:
    """Every prompt with its figures and status: one scan of the ``prompts`` table, no join."""
    return f"""SELECT * FROM (SELECT *, CASE
            WHEN groups = 1 THEN 'once'
            WHEN right = 0 THEN 'never'
            WHEN right = completions THEN 'always'
            WHEN first_solve_rate <= {LOW} AND last_solve_rate >= {HIGH} THEN 'learned'
            WHEN first_solve_rate >= {HIGH} AND last_solve_rate <= {LOW} THEN 'forgotten'
            ELSE 'mixed' END AS status
        FROM (SELECT p.pkey, p.prompt, p.question, p.row, p.expected, p.groups, p.completions,
                     p.n_right AS right, p.n_pending AS pending, p.first_step, p.last_step,
                     p.first_rate AS first_solve_rate, p.last_rate AS last_solve_rate,
                     CASE WHEN p.reward_n > 0 THEN p.reward_sum / p.reward_n END AS mean_reward,
                     p.zero_spread_groups
              FROM {db}prompts p))"""


def query(conn: sqlite3.Connection, db: str, *, statuses: Sequence[str] = (), text: str | None = None,
          sort: str = "first_step", descending: bool | None = None, limit: int | None = None,
          offset: int = 0) -> list[dict[str, Any]]:
    """The prompts, filtered by status and by text (in the question or prompt), sorted (numbers high
    first unless ``descending`` says otherwise), one page."""
    if sort not in SORTABLE:
        raise ValueError(f"--sort {sort}: one of {', '.join(SORTABLE)}")
    where, args = _where(statuses, text)
    numeric = sort not in ("prompt", "question", "expected", "status")
    desc = numeric if descending is None else descending
    order = f"{sort} IS NULL, {sort} {'DESC' if desc else 'ASC'}, first_step, pkey"
    sql = f"{_select(db)} {where} ORDER BY {order}"
    if limit is not None:  # only then: with "LIMIT -1" SQLite sorts wide rows several times slower
        sql += " LIMIT ? OFFSET ?"
        args = (*args, limit, offset)
    elif offset:
        sql += " LIMIT -1 OFFSET ?"
        args = (*args, offset)
    rows = conn.execute(sql, args).fetchall()
    return [dict(zip(("key", *FIELDS), r, strict=True)) for r in rows]


def count(conn: sqlite3.Connection, db: str, *, statuses: Sequence[str] = (), text: str | None = None) -> int:
    where, args = _where(statuses, text)
    return conn.execute(f"SELECT COUNT(*) FROM ({_select(db)} {where})", args).fetchone()[0]


def summary(conn: sqlite3.Connection, db: str) -> dict[str, Any]:
    """How many prompts, how many of each status, and the share that gives GRPO no signal."""
    by = dict(conn.execute(f"SELECT status, COUNT(*) FROM ({_select(db)}) GROUP BY status").fetchall())
    total = sum(by.values())
    counts = {s: by.get(s, 0) for s in STATUSES}
    return {
        "prompts": total, "statuses": counts,
        "always_share": counts["always"] / total if total else None,
        "never_share": counts["never"] / total if total else None,
        "thresholds": {"low": LOW, "high": HIGH, "solved_reward_without_answers": SOLVED_REWARD},
    }


def history(conn: sqlite3.Connection, db: str, pkey: str, *, limit: int | None = None) -> list[tuple]:
    """``[(step, grp, n, n_right, n_pending)]`` of one prompt's groups in step order (the last ``limit``)."""
    if limit is None:
        return conn.execute(f"SELECT step, grp, n, n_right, n_pending FROM {db}groups WHERE pkey = ?"
                            " ORDER BY step, grp", (pkey,)).fetchall()
    rows = conn.execute(f"SELECT step, grp, n, n_right, n_pending FROM {db}groups WHERE pkey = ?"
                        " ORDER BY step DESC, grp DESC LIMIT ?", (pkey, limit)).fetchall()
    return rows[::-1]


def _where(statuses: Sequence[str], text: str | None) -> tuple[str, tuple[Any, ...]]:
    bad = [s for s in statuses if s not in STATUSES]
    if bad:
        raise ValueError(f"--status {bad[0]}: one of {', '.join(STATUSES)}")
    parts, args = [], []
    if statuses:
        parts.append(f"status IN ({','.join('?' * len(statuses))})")
        args.extend(statuses)
    if text:
        parts.append("(instr(lower(COALESCE(question, '')), lower(?)) > 0 OR instr(lower(prompt), lower(?)) > 0)")
        args.extend([text, text])
    return ("WHERE " + " AND ".join(parts)) if parts else "", tuple(args)


def learned_only(paths: Sequence[Any]) -> tuple[int, list[int]] | None:
    """Of the prompts every one of these stores saw: how many there are, and per store how many it learned
    and no other did (``learned`` there, any other status in every other store). One SQL join over the
    stores attached read-only (the prompts' keys are indexed): never a prompt in Python, however many
    there are. None when a store does not keep per-prompt statistics (before schema 3) or cannot be read."""
    conn = sqlite3.connect("file::memory:", uri=True)
    try:
        for i, path in enumerate(paths):
            conn.execute(f"ATTACH DATABASE ? AS r{i}", (f"file:{path}?mode=ro",))
            if not conn.execute(f"SELECT 1 FROM r{i}.sqlite_master WHERE name = 'prompts'").fetchone():
                return None
        learned = [f"COALESCE(p{i}.first_rate <= {LOW} AND p{i}.last_rate >= {HIGH}, 0)" for i in range(len(paths))]
        joins = " ".join(f"JOIN r{i}.prompts p{i} ON p{i}.pkey = p0.pkey" for i in range(1, len(paths)))
        only = ", ".join(f"SUM({mine} AND NOT ({' OR '.join(o for j, o in enumerate(learned) if j != i) or '0'}))"
                         for i, mine in enumerate(learned))
        row = conn.execute(f"SELECT COUNT(*), {only} FROM r0.prompts p0 {joins}").fetchone()
        return row[0], [int(x or 0) for x in row[1:]]
    except sqlite3.DatabaseError:
        return None
    finally:
        conn.close()
