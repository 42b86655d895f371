"""The embedded demo as an ordinary run config: a tiny local model, a generated dataset, real GRPO."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from grpotui.runner.demo import DATASET_FILENAME, DEMO_STEPS, DEMO_TRAINING, MARKER_NAME, MODEL_DIRNAME
from grpotui.store.paths import cache_dir, make_private_dir


def ensure_demo_assets() -> tuple[str, str]:
    """Build the demo model and dataset once (in a subprocess: building needs torch), then reuse them."""
    cache = make_private_dir(cache_dir())
    model_dir, data_file = cache / MODEL_DIRNAME, cache / DATASET_FILENAME
    if not (model_dir / MARKER_NAME).exists() or not data_file.exists():
        proc = subprocess.run(
            [sys.executable, "-c", "import sys; from grpotui.runner.demo import demo_assets; "
             "demo_assets(sys.argv[1])", str(cache)],
            capture_output=True, text=True,
        )
        if proc.returncode != 0:
            tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"could not build the demo model in {cache}: {tail}")
    return str(model_dir), str(data_file)


# Scenarios change real training settings; nothing is faked: the metrics are what training produces.
SCENARIOS: dict[str, dict[str, Any]] = {
    # seed 1: with the 5 sums it holds out, measured to learn like the others (mean reward 0.60 at 800 steps)
    "healthy": {"seed": 1},
    # A learning rate far too high and no KL penalty: by step ~40 the policy answers one fixed string,
    # entropy is ~0 and every group has zero reward spread (a real mode collapse).
    "collapse": {"beta": 0.0, "learning_rate": 3e-2, "lr_scheduler_type": "constant"},
    # A second reward the model can earn without answering right (a bonus for starting with "9", never
    # a right sum here): it learns to exploit it while correctness falls (a real reward hack).
    "hacking": {"lr_scheduler_type": "constant"},
}
REWARDS = {"hacking": ["correctness", "grpotui.rewards.demo:nine_bonus"]}
# The healthy demo's held-out evaluation: 5 of the 25 sums (drawn with the seed: 4+3, 3+1, 2+0, 4+4, 4+1) are
# never trained on, and evaluated with 8 samples each before the first step, every 100 steps and at the end.
# Measured (800 steps): accuracy 0.00 at the start, 0.35-0.38 from step 500, pass@8 0.4: the model answers
# 3+1 and 4+1, whose reversed twins 1+3 and 1+4 it trains on, and never 4+3, 2+0 or 4+4. It does not learn
# to add; it learns that a+b and b+a have one answer for some of them, which is what the figure says.
EVALS = {"healthy": {"holdout": 5, "every": 100, "max_samples": 5, "num_generations": 8}}
NOTES = {
    "healthy": "embedded demo: a tiny Qwen2 learns single-digit sums with GRPO",
    "collapse": "embedded demo, collapse scenario: lr 3e-2 and beta 0, set up to collapse",
    "hacking": "embedded demo, hacking scenario: a bonus for answering 9, which is never right",
}


def demo_config(steps: int = DEMO_STEPS, scenario: str = "healthy") -> dict[str, Any]:
    if scenario not in SCENARIOS:
        raise ValueError(f"--scenario {scenario}: one of {', '.join(SCENARIOS)}")
    model_dir, data_file = ensure_demo_assets()
    return {
        "run": {"note": NOTES[scenario]},
        "model": {"name_or_path": model_dir, "backend": "transformers", "load_in_4bit": False},
        "data": {
            "source": data_file,
            "prompt_field": "prompt",
            "answer_field": "answer",
            "chat_template": False,
        },
        "rewards": REWARDS.get(scenario, ["correctness"]),
        "training": {**DEMO_TRAINING, **SCENARIOS[scenario], "max_steps": steps},
        **({"eval": dict(EVALS[scenario])} if scenario in EVALS else {}),
    }
