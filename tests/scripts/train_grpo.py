"""A user's own GRPO script, written from TRL's examples. It does not import grpotui.

    python train_grpo.py MODEL_DIR DATA.jsonl STEPS [--explode-at N] [--callback NAME] [--unsloth-like]
                         [--eval-every N]

``--eval-every N``: the script evaluates on its own held-out rows (the first 4 of the data, with TRL's
``eval_dataset`` and ``eval_steps``), as scripts written from TRL's examples do.

``--unsloth-like`` first does to TRL what Unsloth does (``unsloth_like.py``: it stands in for Unsloth,
which patches nothing without a GPU), as a script that starts with ``from unsloth import ...`` would.
"""

import sys
import tempfile

if "--unsloth-like" in sys.argv:
    import unsloth_like

    unsloth_like.patch()

from datasets import load_dataset
from trl import GRPOConfig, GRPOTrainer

model_dir, data_file, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
explode_at = int(sys.argv[sys.argv.index("--explode-at") + 1]) if "--explode-at" in sys.argv else None
calls = 0


def sum_is_right(completions, answer, **kwargs):
    """1 when the completion starts with the right sum."""
    global calls
    calls += 1
    if explode_at is not None and calls >= explode_at:
        raise RuntimeError("my reward blew up")
    return [1.0 if c.strip().startswith(a) else 0.0 for c, a in zip(completions, answer, strict=False)]


dataset = load_dataset("json", data_files=data_file, split="train")
evaluation = {}
if "--eval-every" in sys.argv:
    evaluation = {"eval_strategy": "steps", "eval_steps": int(sys.argv[sys.argv.index("--eval-every") + 1]),
                  "per_device_eval_batch_size": 16}
    eval_dataset = dataset.select(range(4))
    dataset = dataset.select(range(4, len(dataset)))
args = GRPOConfig(
    output_dir=tempfile.mkdtemp(prefix="user-script-"), max_steps=steps, per_device_train_batch_size=16,
    num_generations=8,
    learning_rate=1e-3, beta=0.02, max_completion_length=2, logging_steps=1, report_to="none",
    save_strategy="no", bf16=False, use_cpu=True, seed=42, **evaluation,
)
callbacks = []
if "--callback" in sys.argv:  # the one line a user adds to record without `grpotui watch`
    from grpotui import GRPOTUICallback

    callbacks.append(GRPOTUICallback(name=sys.argv[sys.argv.index("--callback") + 1]))
trainer = GRPOTrainer(model=model_dir, reward_funcs=sum_is_right, args=args, train_dataset=dataset,
                      callbacks=callbacks, **({"eval_dataset": eval_dataset} if evaluation else {}))
assert type(trainer).__name__ == ("UnslothGRPOTrainer" if "--unsloth-like" in sys.argv else "GRPOTrainer")
trainer.train()
print("training done by the user's script")
