"""Training-thread time grpotui takes per completion, on realistic math completions.

    python benchmarks/bench_recorder_thread.py [--steps 20]

Trains the tiny model on realistic LaTeX completions (``realistic.py``) with ``GRPOTUICallback`` and
times, on the training thread, everything grpotui does there: the generation hand-over (wrapping
``_generate_and_score_completions``), ``on_step_end`` and ``on_log`` (thread CPU time and wall time). The
rest (JSON, SQLite, verdicts) happens on the writer thread and in the judge process.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20)
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="grpotui-thread-"))
    os.environ["GRPOTUI_HOME"] = str(work / "home")
    import realistic
    from datasets import load_dataset
    from transformers import AutoModelForCausalLM
    from trl import GRPOConfig, GRPOTrainer

    from grpotui import GRPOTUICallback
    from grpotui.runner import recorder as rec
    from grpotui.runner.demo import DEMO_TRAINING

    texts = realistic.completions(400)
    rows = realistic.dataset_rows()
    tok = realistic.byte_tokenizer(texts + [r["prompt"] for r in rows])
    model_dir = realistic.build_model(work / "model", tok)
    data = work / "data.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    totals = {"cpu": 0.0, "wall": 0.0, "completions": 0}

    def timed(fn):
        def wrapper(self, *args, **kwargs):
            c0, w0 = time.thread_time(), time.perf_counter()
            try:
                return fn(self, *args, **kwargs)
            finally:
                totals["cpu"] += time.thread_time() - c0
                totals["wall"] += time.perf_counter() - w0
        return wrapper

    original = rec.Recorder._record_generation

    def record(self, inputs, out):
        totals["completions"] += len(inputs)
        return original(self, inputs, out)

    rec.Recorder._record_generation = timed(record)
    rec.Recorder.on_step_end = timed(rec.Recorder.on_step_end)
    rec.Recorder.on_log = timed(rec.Recorder.on_log)
    model = realistic.scripted(AutoModelForCausalLM.from_pretrained(model_dir), tok, texts, 2048)
    args = GRPOConfig(output_dir=str(work / "out"), **{**DEMO_TRAINING, "max_steps": a.steps, "disable_tqdm": True,
                                                       "max_completion_length": 2048})
    trainer = GRPOTrainer(model=model, reward_funcs=realistic.cheap_reward, args=args, processing_class=tok,
                          train_dataset=load_dataset("json", data_files=str(data), split="train"),
                          callbacks=[GRPOTUICallback(name="thread")])
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)
    trainer.train()
    n = totals["completions"]
    print(f"command: python benchmarks/bench_recorder_thread.py --steps {a.steps}")
    print(f"{n} completions of 300-2,000 characters (mean {sum(map(len, texts)) / len(texts):.0f})")
    print(f"training-thread time in grpotui: {totals['cpu'] / n * 1000:.4f} ms CPU, "
          f"{totals['wall'] / n * 1000:.4f} ms wall per completion")


if __name__ == "__main__":
    main()
