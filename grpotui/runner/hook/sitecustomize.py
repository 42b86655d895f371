"""Put on a watched command's PYTHONPATH by ``grpotui watch``: every GRPO trainer it builds is recorded.

It installs a post-import hook for ``transformers.trainer`` that wraps ``Trainer.__init__``: every
trainer is built through it, whatever its class. TRL's ``GRPOTrainer``, a subclass of it, and Unsloth's
``UnslothGRPOTrainer`` all count: Unsloth rebuilds TRL's class from its module source under another name
(``unsloth/models/rl.py``, ``patch_trl_rl_trainers``) and rebinds ``trl.GRPOTrainer`` to it, so it is
not a subclass of TRL's, but it is still a ``transformers.Trainer``. A trainer counts as a GRPO one by
what the recorder needs of it (``_generate_and_score_completions``); its recording callback is added
as the inner ``Trainer.__init__`` returns and binds to the trainer when ``train()`` begins, after the
outermost constructor has finished. Then the user's own ``sitecustomize`` runs, if there is one
further down ``sys.path``. The script itself is not changed, and nothing heavy is imported here.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys

_TARGET = "transformers.trainer"
_HERE = os.path.dirname(os.path.abspath(__file__))


def _patch(module) -> None:
    cls = getattr(module, "Trainer", None)
    if cls is None or getattr(cls.__init__, "_grpotui", False):
        return
    original = cls.__init__

    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        try:
            _add_recorder(self)
        except Exception as e:  # recording must never break the user's training
            print(f"grpotui: cannot record this trainer: {type(e).__name__}: {e}", file=sys.stderr, flush=True)

    __init__._grpotui = True
    __init__.__wrapped__ = original
    cls.__init__ = __init__


def _add_recorder(trainer) -> None:
    from grpotui.runner.callback import GRPOTUICallback, is_grpo_trainer

    if not is_grpo_trainer(trainer) or getattr(trainer, "_grpotui_watch", False):
        return
    trainer._grpotui_watch = True
    cb = GRPOTUICallback(run_dir=os.environ["GRPOTUI_RUN_DIR"],
                         answer_field=os.environ.get("GRPOTUI_ANSWER_FIELD") or None)
    trainer.add_callback(cb.for_trainer(trainer))


class _Loader(importlib.abc.Loader):
    def __init__(self, inner) -> None:
        self.inner = inner

    def create_module(self, spec):
        return self.inner.create_module(spec)

    def exec_module(self, module) -> None:
        self.inner.exec_module(module)
        _patch(module)


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname != _TARGET:
            return None
        for finder in sys.meta_path:
            if finder is self:
                continue
            spec = finder.find_spec(fullname, path, target) if hasattr(finder, "find_spec") else None
            if spec is not None and spec.loader is not None:
                spec.loader = _Loader(spec.loader)
                return spec
        return None


def _chain_user_sitecustomize() -> None:
    """Run the sitecustomize that ours shadows, if any."""
    saved = sys.modules.pop("sitecustomize", None)
    path = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
    try:
        spec = importlib.machinery.PathFinder.find_spec("sitecustomize", path)
        if spec is not None and spec.loader is not None:
            module = importlib.util.module_from_spec(spec)
            sys.modules["sitecustomize"] = module
            spec.loader.exec_module(module)
    finally:
        if "sitecustomize" not in sys.modules and saved is not None:
            sys.modules["sitecustomize"] = saved


if os.environ.get("GRPOTUI_RUN_DIR"):
    if _TARGET in sys.modules:
        _patch(sys.modules[_TARGET])
    else:
        sys.meta_path.insert(0, _Finder())
_chain_user_sitecustomize()
