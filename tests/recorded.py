"""A run store written through the store module from fixed, realistic rows (for UI tests and snapshots)."""

from __future__ import annotations

import math
import random
import sqlite3
from pathlib import Path

from grpotui.store import RunStore
from grpotui.store.paths import STORE_FILE

T0 = 1_790_000_000.0  # a fixed clock: snapshots do not change with the time of day

PROMPTS = [
    ("Janet's ducks lay 16 eggs per day. She eats three for breakfast and bakes muffins with four. "
     "She sells the rest for $2 each. How much does she make every day?", "18"),
    ("A robe takes 2 bolts of blue fiber and half that much white fiber. How many bolts in total?", "3"),
    ("Josh buys a house for $80,000 and puts in $50,000 in repairs. This increased the value by 150%. "
     "How much profit did he make?", "70000"),
    ("James runs 3 sprints 3 times a week, 60 meters each. How many meters a week?", "540"),
]


def _completion(rng: random.Random, expected: str, p_right: float) -> tuple[str, str | None, str]:
    roll = rng.random()
    if roll < p_right:
        return f"Let me compute step by step. So the total is {expected}. The answer is {expected}.", expected, "right"
    if roll < p_right + 0.12:
        return "I am not sure how to [bold]solve[/bold] this one.", None, "unparseable"
    wrong = str(int(expected) + rng.randint(1, 9))
    return f"First we add the numbers: it gives {wrong}. The answer is {wrong}.", wrong, "wrong"


def write_recorded_run(home: Path, name: str = "gsm8k-qwen", steps: int = 40, *, status: str = "finished",
                       group_size: int = 8, groups: int = 2, alerts: bool = True, lr: float = 5e-6,
                       skill: float = 0.6, seed: int = 7) -> Path:
    d = home / "runs" / name
    d.mkdir(parents=True, exist_ok=True, mode=0o700)
    cfg = {"model": {"name_or_path": "Qwen/Qwen2.5-0.5B-Instruct", "backend": "transformers"},
           "run": {"note": "recorded fixture"}, "rewards": ["correctness", "format"],
           "training": {"max_steps": steps, "learning_rate": lr}}
    s = RunStore.create(d / STORE_FILE, name=name, kind="run", config=cfg, max_steps=steps,
                        model="Qwen/Qwen2.5-0.5B-Instruct", backend="transformers")
    s.set_status("running", "training from step 0", step=0)
    rng = random.Random(seed)
    for step in range(1, steps + 1):
        p_right = 0.1 + skill * step / steps
        rows = []
        for g in range(groups):
            prompt, expected = PROMPTS[(step + g) % len(PROMPTS)]
            comps = []
            zero_spread = step % 7 == 0 and g == 0
            for _ in range(group_size):
                text, answer, verdict = _completion(rng, expected, 0.0 if zero_spread else p_right)
                if zero_spread:
                    text, answer, verdict = "The answer is 1.", "1", "wrong"
                correct = 1.0 if verdict == "right" else 0.0
                fmt = 0.0 if verdict == "unparseable" else 1.0
                comps.append({"completion": text, "answer": answer, "verdict": verdict, "reward": correct + fmt,
                              "rewards": {"correctness": correct, "format": fmt}, "advantage": 0.0,
                              "length": len(text) // 4})
            mean = sum(c["reward"] for c in comps) / len(comps)
            sd = math.sqrt(sum((c["reward"] - mean) ** 2 for c in comps) / len(comps)) or 1.0
            for c in comps:
                c["advantage"] = (c["reward"] - mean) / sd
            rows.append({"prompt": prompt, "expected": expected, "completions": comps})
        s.record_groups(step, rows)
        comps_all = [c for r in rows for c in r["completions"]]
        flat = [c["reward"] for c in comps_all]
        s.record_metrics(step, {
            "reward": sum(flat) / len(flat), "reward_std": 0.4 - 0.2 * step / steps,
            "frac_reward_zero_std": 0.5 if step % 7 == 0 else 0.0, "kl": 0.001 * step * math.sqrt(lr / 5e-6),
            "loss": 0.01 * math.sin(step), "entropy": 1.5 - step / steps * (skill / 0.6), "grad_norm": 0.5,
            "completions/mean_length": 60 + step, "completions/clipped_ratio": 0.0,
            "rewards/correctness/mean": sum(c["rewards"]["correctness"] for c in comps_all) / len(flat),
            "rewards/format/mean": sum(c["rewards"]["format"] for c in comps_all) / len(flat),
        })
    s.record_system({"cpu_percent": 37.0, "cpu_count": 16, "ram_used": 21 * 2**30, "ram_total": 64 * 2**30,
                     "proc_rss": 3 * 2**30, "gpus": [{"index": 0, "name": "NVIDIA GeForce RTX 4090", "util": 87,
                     "mem_used": 19 * 2**30, "mem_total": 24 * 2**30, "temp_c": 71, "power_w": 320.0,
                     "proc_mem": 18 * 2**30}], "gpu_source": "nvml"}, step=steps)
    if alerts:
        s.record_alert(step=steps // 2, rule="kl_blowup", severity="warning",
                       message="KL 0.020 above 10x its recent level")
    if status != "running":
        s.set_status(status, f"{steps} steps" if status == "finished" else status, step=steps,
                     exit_code={"finished": 0, "failed": 1, "stopped": 4, "killed": 5}.get(status))
    s.close()
    con = sqlite3.connect(d / STORE_FILE)
    con.execute("UPDATE run SET created_at=?, started_at=?, ended_at=CASE WHEN ended_at IS NULL THEN NULL ELSE ? END,"
                " heartbeat_at=?, host='gpu-box', pid=NULL", (T0, T0 + 5, T0 + 3605, T0 + 3605))
    con.execute("UPDATE system SET t=?", (T0 + 3600,))
    con.commit()
    con.close()
    return d


SCHEMA_1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE run (id INTEGER PRIMARY KEY CHECK (id = 1), name TEXT NOT NULL, kind TEXT NOT NULL,
    config TEXT NOT NULL, backend TEXT, model TEXT, host TEXT, pid INTEGER, pid_create_time REAL, uid INTEGER,
    max_steps INTEGER, status TEXT NOT NULL, status_reason TEXT, exit_code INTEGER, created_at REAL NOT NULL,
    started_at REAL, ended_at REAL, heartbeat_at REAL, summary TEXT);
CREATE TABLE events (id INTEGER PRIMARY KEY, t REAL NOT NULL, status TEXT NOT NULL, reason TEXT, step INTEGER);
CREATE TABLE metrics (step INTEGER PRIMARY KEY, t REAL NOT NULL, data TEXT NOT NULL);
CREATE TABLE groups (step INTEGER NOT NULL, grp INTEGER NOT NULL, prompt TEXT NOT NULL, expected TEXT,
    UNIQUE (step, grp));
CREATE TABLE completions (step INTEGER NOT NULL, grp INTEGER NOT NULL, idx INTEGER NOT NULL,
    completion TEXT NOT NULL, answer TEXT, verdict TEXT, reward REAL, rewards TEXT, advantage REAL,
    length INTEGER, UNIQUE (step, grp, idx));
CREATE TABLE system (id INTEGER PRIMARY KEY, t REAL NOT NULL, step INTEGER, data TEXT NOT NULL);
CREATE TABLE alerts (id INTEGER PRIMARY KEY, t REAL NOT NULL, step INTEGER, rule TEXT NOT NULL,
    severity TEXT NOT NULL, message TEXT NOT NULL, action TEXT, vals TEXT);
CREATE TABLE commands (id INTEGER PRIMARY KEY, t REAL NOT NULL, command TEXT NOT NULL, uid INTEGER,
    taken_at REAL, taken_step INTEGER, result TEXT);
"""


def make_schema1_store(path: Path) -> Path:
    """A store as grpotui wrote it at schema 1 (the first version), with one finished step."""
    c = sqlite3.connect(path)
    c.executescript(SCHEMA_1)
    c.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    c.execute("INSERT INTO run (id, name, kind, config, status, created_at) VALUES (1, 'old', 'run', '{}', "
              "'finished', ?)", (T0,))
    c.execute("INSERT INTO metrics VALUES (1, ?, '{\"reward\": 1.0}')", (T0,))
    c.execute("INSERT INTO groups VALUES (1, 0, 'What is 6 x 7?', '42')")
    c.execute("INSERT INTO completions VALUES (1, 0, 0, '42', '42', 'right', 1.0, '{}', 0.0, 2)")
    c.commit()
    c.close()
    return path
