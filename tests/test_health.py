"""Health rules on recorded series (healthy, collapsing, saturating, NaN, ...) and end to end on real runs."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest

from grpotui import config
from grpotui.config import ConfigError
from grpotui.health import HealthConfigError, HealthMonitor, replay, resolve
from grpotui.store import RunStore
from grpotui.store.paths import STORE_FILE

G = 8


def _groups(rng: random.Random, p: float, *, identical: bool = False, answer_pool: int = 10) -> list[dict]:
    """Two groups of G completions of a policy right with probability ``p``."""
    out = []
    for _ in range(2):
        if identical:
            text = "22"
            comps = [{"completion": text, "reward": 1.0 if p >= 1 else 0.0,
                      "verdict": "right" if p >= 1 else "wrong"} for _ in range(G)]
        else:
            comps = []
            for _ in range(G):
                right = rng.random() < p
                comps.append({"completion": "7" if right else str(rng.randrange(answer_pool)) + rng.choice("+= 5"),
                              "reward": 1.0 if right else 0.0, "verdict": "right" if right else "wrong"})
        out.append({"completions": comps})
    return out


def _frac_zero(groups: list[dict]) -> float:
    return sum(len({c["reward"] for c in g["completions"]}) == 1 for g in groups) / len(groups)


def healthy_series(steps: int = 800, seed: int = 0):
    """Like the real tiny demo (TRL-FACTS): reward 0.08 -> 0.7, KL ~1.7 with spikes, clipped ratio ~0.9."""
    rng = random.Random(seed)
    metrics, groups = [], {}
    for step in range(1, steps + 1):
        p = 0.08 + 0.62 * min(1.0, step / 700)
        gs = _groups(rng, p)
        groups[step] = gs
        kl = 0.0 if step < 5 else 1.7 * min(1.0, step / 300) * (1 + 0.3 * rng.random())
        if step % 97 == 0:
            kl = 5.6
        metrics.append((step, {
            "reward": sum(c["reward"] for g in gs for c in g["completions"]) / (2 * G),
            "frac_reward_zero_std": _frac_zero(gs), "entropy": 2.9 - 1.7 * step / steps + 0.05 * rng.random(),
            "kl": kl, "loss": 0.01 * rng.random(), "grad_norm": 0.5,
            "completions/clipped_ratio": 0.85 + 0.1 * rng.random(),
        }))
    return metrics, groups


def collapsing_series(steps: int = 200, seed: int = 0):
    """Like the demo's collapse scenario: by step ~40 one fixed wrong answer, entropy ~0, no spread."""
    rng = random.Random(seed)
    metrics, groups = [], {}
    for step in range(1, steps + 1):
        collapsed = step > 40
        gs = _groups(rng, 0.0 if collapsed else 0.1, identical=collapsed)
        groups[step] = gs
        metrics.append((step, {"reward": 0.0 if collapsed else 0.1, "frac_reward_zero_std": _frac_zero(gs),
                               "entropy": 0.0005 if collapsed else 3.0 - step / 20, "kl": 0.0, "loss": 0.0,
                               "grad_norm": 0.0, "completions/clipped_ratio": 1.0}))
    return metrics, groups


def test_healthy_run_raises_nothing() -> None:
    for seed in (0, 1, 2):
        metrics, groups = healthy_series(seed=seed)
        assert replay(metrics, groups) == []


def test_collapse_is_caught_early_and_stopped() -> None:
    metrics, groups = collapsing_series()
    alerts = replay(metrics, groups)
    rules = {a.rule: a for a in alerts}
    assert {"mode_collapse", "entropy_collapse"} <= set(rules)
    assert rules["mode_collapse"].action == "stop" and rules["mode_collapse"].severity == "critical"
    assert rules["mode_collapse"].step <= 60 and rules["entropy_collapse"].step <= 60
    assert rules["entropy_collapse"].values["entropy"] < 0.02
    assert len([a for a in alerts if a.rule == "mode_collapse"]) == 1  # once, not every step


def test_saturation_is_not_collapse() -> None:
    """Every sample right: zero spread everywhere and identical completions, but the run is done, not dead."""
    rng = random.Random(0)
    metrics, groups = [], {}
    for step in range(1, 301):
        p = min(1.0, 0.5 + step / 100)
        gs = _groups(rng, p, identical=p >= 1.0)
        groups[step] = gs
        metrics.append((step, {"reward": sum(c["reward"] for g in gs for c in g["completions"]) / 16,
                               "frac_reward_zero_std": _frac_zero(gs), "entropy": max(0.3, 2 - step / 100),
                               "kl": 0.1, "loss": 0.0, "grad_norm": 0.1}))
    assert [a.rule for a in replay(metrics, groups)] == []


def test_no_signal_at_low_accuracy_is_compared_with_chance() -> None:
    """Early in a healthy run most groups have zero spread by chance (p^G + (1-p)^G): no alert."""
    rng = random.Random(3)
    metrics, groups = [], {}
    for step in range(1, 301):
        gs = _groups(rng, 0.02)  # chance of zero spread: 0.85
        groups[step] = gs
        metrics.append((step, {"reward": 0.02, "frac_reward_zero_std": _frac_zero(gs), "entropy": 2.5}))
    assert replay(metrics, groups) == []
    # the same accuracy, but every group without spread, far above chance: no gradient at all
    metrics = [(s, {**m, "frac_reward_zero_std": 1.0}) for s, m in metrics]
    for s in groups:
        groups[s] = [{"completions": [{"completion": f"{i}", "reward": 0.0, "verdict": "wrong"} for i in range(G)]}
                     for _ in range(2)]
        groups[s][0]["completions"][0]["verdict"] = "right"  # accuracy 1/16 -> chance 0.6
    alerts = replay(metrics, groups)
    assert [a.rule for a in alerts] == ["no_signal"] and alerts[0].values["chance"] < 0.7


def test_memorised_prompts_are_not_missing_signal() -> None:
    """Late in a long run most prompts are solved every time (all-right groups): no gradient there,
    but nothing is wrong; only groups stuck below the top count."""
    rng = random.Random(5)
    metrics, groups = [], {}
    for step in range(1, 301):
        gs = [{"completions": [{"completion": "7", "reward": 1.0, "verdict": "right"} for _ in range(G)]}
              for _ in range(7)] + _groups(rng, 0.3)[:1]
        groups[step] = gs
        metrics.append((step, {"reward": 0.9, "frac_reward_zero_std": _frac_zero(gs), "entropy": 1.0}))
    assert replay(metrics, groups) == []


def test_a_run_that_never_sees_a_reward_is_caught() -> None:
    """Every reward 0 from the start: there is no top, so identical groups are a collapse."""
    metrics, groups = [], {}
    for step in range(1, 200):
        groups[step] = [{"completions": [{"completion": "x", "reward": 0.0, "verdict": "wrong"}] * G}] * 2
        metrics.append((step, {"reward": 0.0, "frac_reward_zero_std": 1.0, "entropy": 1.5}))
    assert "mode_collapse" in {a.rule for a in replay(metrics, groups)}


def test_nan_stops_at_once() -> None:
    metrics, groups = healthy_series(steps=120)
    metrics[49] = (50, {**metrics[49][1], "loss": math.nan})
    alerts = replay(metrics, groups)
    assert [(a.rule, a.step, a.action) for a in alerts] == [("numerical", 50, "stop")]
    assert "loss=nan" in alerts[0].message


def test_kl_blowup_crash_and_length_runaway() -> None:
    base = [(s, {"reward": 0.6, "kl": 0.05, "entropy": 1.0, "completions/clipped_ratio": 0.05}) for s in range(1, 201)]
    kl = base + [(s, {"reward": 0.6, "kl": 4.0, "entropy": 1.0, "completions/clipped_ratio": 0.05})
                 for s in range(201, 211)]
    assert [a.rule for a in replay(kl)] == ["kl_blowup"]
    crash = base + [(s, {"reward": 0.1, "kl": 0.05, "entropy": 1.0, "completions/clipped_ratio": 0.05})
                    for s in range(201, 301)]
    assert [a.rule for a in replay(crash)] == ["reward_crash"]
    runaway = base + [(s, {"reward": 0.6, "kl": 0.05, "entropy": 1.0, "completions/clipped_ratio": 0.97})
                      for s in range(201, 301)]
    assert [a.rule for a in replay(runaway)] == ["length_runaway"]
    always_clipped = [(s, {**m, "completions/clipped_ratio": 0.95}) for s, m in base]
    assert replay(always_clipped) == []


def test_stall_and_thresholds_from_config() -> None:
    mon = HealthMonitor(resolve({"stall": {"seconds": 60, "action": "pause"}}))
    assert mon.check_stall(10, 30.0, typical_step=1.0) is None
    alert = mon.check_stall(10, 90.0, typical_step=1.0)
    assert alert and alert.rule == "stall" and alert.action == "pause"
    assert mon.check_stall(10, 120.0, typical_step=1.0) is None  # once until it clears
    assert mon.check_stall(10, 100.0, typical_step=10.0) is None  # slow steps: 20x typical
    off = HealthMonitor(resolve({"mode_collapse": {"enabled": False}, "entropy_collapse": {"floor": 0.0001,
                                                                                          "factor": 1e9}}))
    metrics, groups = collapsing_series()
    assert "mode_collapse" not in {a.rule for a in replay(metrics, groups, config=resolve(
        {"mode_collapse": {"enabled": False}}))}
    assert off.rules.get("mode_collapse") is None


def test_bad_health_config_names_the_key(tmp_path: Path, home: Path) -> None:
    with pytest.raises(HealthConfigError) as e:
        resolve({"mode_colapse": {}, "entropy_collapse": {"floor": "low", "flor": 1}, "kl_blowup": {"action": "panic"}})
    msg = str(e.value)
    assert "health.mode_colapse: unknown rule (did you mean 'mode_collapse'?)" in msg
    assert "health.entropy_collapse.floor: expected a number" in msg
    assert "health.entropy_collapse.flor: unknown key" in msg
    assert "health.kl_blowup.action: 'panic' is not one of warn, pause, stop, kill" in msg
    (tmp_path / "m").mkdir()
    (tmp_path / "d.jsonl").write_text("{}\n")
    p = tmp_path / "c.toml"
    p.write_text('[model]\nname_or_path = "./m"\n[data]\nsource = "d.jsonl"\n[health.stall]\nseconds = -5\n')
    with pytest.raises(ConfigError, match=r"health.stall.seconds: expected a number >= 0"):
        config.load(p)


@pytest.mark.slow
def test_collapse_scenario_is_stopped_by_a_rule(home: Path, cli) -> None:
    from webhook import Hook

    hook = Hook()  # a real HTTP server on 127.0.0.1 receives the run's notifications
    (home / "settings.toml").write_text(f'[notify]\nwebhook = "{hook.url}"\n')
    try:
        _collapse(home, cli, hook)
    finally:
        hook.close()


def _collapse(home: Path, cli, hook) -> None:
    proc = cli("demo", "--scenario", "collapse", "--headless", "--steps", "400", "--name", "collapse", timeout=300)
    assert proc.returncode == 3, proc.stdout[-2000:] + proc.stderr[-2000:]
    st = json.loads(cli("status", "collapse", "--json", check=True).stdout)
    assert st["status"] == "stopped" and st["exit_code"] == 3 and "health rule" in st["reason"]
    assert st["step"] < 150
    assert {a["rule"] for a in st["alerts"]} & {"mode_collapse", "entropy_collapse"}
    assert list((home / "runs" / "collapse" / "checkpoints").glob("checkpoint-*"))
    with RunStore.open(home / "runs" / "collapse" / STORE_FILE) as s:
        [alert] = [a for a in s.alerts() if a["action"] == "stop"]
        assert alert["values"] and alert["step"] == st["step"]
    ls = json.loads(cli("ls", "--json", check=True).stdout)
    assert ls[0]["alerts"]
    # the evidence: the collapse names its near-identical groups, which the export shows are
    [mc] = [a for a in st["alerts"] if a["rule"] == "mode_collapse"]
    ev = mc["evidence"]
    assert ev["steps"][1] == mc["step"] and ev["steps"][0] < ev["steps"][1]
    assert 0 < len(ev["groups"]) <= 50
    rows = [json.loads(x) for x in cli("export", "collapse", "--what", "groups", check=True).stdout.splitlines()]
    texts: dict[tuple[int, int], list[str]] = {}
    for r in rows:
        texts.setdefault((r["step"], r["group"]), []).append(r["completion"].strip())
    for g in ev["groups"]:
        assert ev["steps"][0] <= g["step"] <= ev["steps"][1]
        t = texts[(g["step"], g["group"])]
        assert len(set(t)) / len(t) <= 0.25, (g, t)
    # notifications: the alert that stopped it, then the end, with the documented fields
    posts = hook.wait(lambda ps: any(p["json"]["event"] == "end" for p in ps), timeout=60)
    events = [p["json"] for p in posts]
    alert = next(e for e in events if e["event"] == "alert" and e["rule"] == mc["rule"])
    assert alert["run"] == "collapse" and alert["step"] == mc["step"] and alert["severity"] == "critical"
    assert events[-1]["event"] == "end" and events[-1]["status"] == "stopped" and events[-1]["step"] == st["step"]
    assert {"run", "event", "status", "rule", "severity", "step", "message", "host"} <= set(events[-1])
    # per prompt: a collapsed run has learned nothing, and most of its problems it never solves
    prompts = json.loads(cli("prompts", "collapse", "--json", check=True).stdout)
    assert prompts["summary"]["statuses"]["learned"] == 0 and prompts["summary"]["never_share"] >= 0.5


def _two_rewards(steps: int, correctness, aux, seed: int = 0, aux_name: str = "format") -> list[tuple[int, dict]]:
    """Metrics of a run with two reward functions whose true means follow ``correctness(t)`` and
    ``aux(t)`` (t in 0..1), sampled as TRL would over 16 completions a step."""
    rng = random.Random(seed)
    out = []
    for step in range(1, steps + 1):
        t = step / steps
        c = [float(rng.random() < correctness(t)) for _ in range(16)]
        a = [float(rng.random() < aux(t)) for _ in range(16)]

        def sd(xs: list[float]) -> float:
            m = sum(xs) / len(xs)
            return math.sqrt(sum((x - m) ** 2 for x in xs) / len(xs))

        out.append((step, {"reward": sum(c) / 16 + sum(a) / 16, "rewards/correctness/mean": sum(c) / 16,
                           "rewards/correctness/std": sd(c), f"rewards/{aux_name}/mean": sum(a) / 16,
                           f"rewards/{aux_name}/std": sd(a), "entropy": 1.0, "kl": 0.01}))
    return out


def test_reward_hacking_needs_correctness_to_fall_not_to_lag() -> None:
    # learning as a healthy correctness + format run does: format first, correctness after (never falls)
    for seed in range(5):
        healthy = _two_rewards(800, lambda t: 0.1 + 0.5 * t, lambda t: min(1.0, 0.1 + 3 * t), seed=seed)
        assert not [a for a in replay(healthy) if a.rule == "reward_hacking"]
    # format climbs while correctness falls: hacked
    hacked = _two_rewards(400, lambda t: max(0.0, 0.3 - 0.6 * t), lambda t: min(1.0, 0.1 + 2 * t), seed=1)
    alerts = [a for a in replay(hacked) if a.rule == "reward_hacking"]
    assert alerts and alerts[0].step < 250  # caught while correctness is still falling
    alert = alerts[0]
    assert alert.values["function"] == "format" and alert.values["primary"] == "correctness"
    assert alert.action == "warn" and alert.evidence["steps"][1] == alert.step
    assert alert.values["variance_share"]["format"][1] > alert.values["variance_share"]["correctness"][1]
    # without a correctness function the rule is off, and says so once; naming the primary turns it on
    renamed = [(s, {k.replace("correctness", "exact"): v for k, v in m.items()}) for s, m in hacked]
    mon = HealthMonitor()
    for s, m in renamed:
        assert not [a for a in mon.observe_metrics(s, m) if a.rule == "reward_hacking"]
    assert len(mon.notes) == 1 and "reward_hacking is off" in mon.notes[0] and "exact, format" in mon.notes[0]
    on = replay(renamed, config={"reward_hacking": {"primary": "exact"}})
    assert [a.step for a in on if a.rule == "reward_hacking"] == [a.step for a in alerts]


def test_hacking_scenario_trips_reward_hacking(home: Path, cli) -> None:
    proc = cli("demo", "--scenario", "hacking", "--headless", "--steps", "130", "--name", "hack", timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    st = json.loads(cli("status", "hack", "--json", check=True).stdout)
    alert = next(a for a in st["alerts"] if a["rule"] == "reward_hacking")
    assert "nine_bonus" in alert["message"] and "correctness fell" in alert["message"]
    assert alert["evidence"]["steps"][1] == alert["step"] <= 130
    rows = [json.loads(x) for x in cli("export", "hack", "--what", "metrics", check=True).stdout.splitlines()]
    early = [r["rewards/correctness/mean"] for r in rows[:25]]
    late = [r for r in rows if r["step"] > alert["step"] - 25 and r["step"] <= alert["step"]]
    assert sum(r["rewards/nine_bonus/mean"] for r in late) / len(late) > 0.5  # it learned the bonus
    assert sum(r["rewards/correctness/mean"] for r in late) / len(late) < sum(early) / len(early)
