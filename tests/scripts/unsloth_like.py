"""Stands in for Unsloth in tests: Unsloth patches nothing without a GPU, and no machine of this project
has one. It does to TRL what ``unsloth/models/rl.py`` (``patch_trl_rl_trainers``, unsloth 2026.10.9)
does: read the source of ``trl/trainer/grpo_trainer.py``, make its relative imports absolute, rename
``class GRPOTrainer`` to ``class _UnslothGRPOTrainer``, execute it as a new module, define
``UnslothGRPOTrainer(_UnslothGRPOTrainer)`` there, and rebind ``trl.GRPOTrainer``,
``trl.trainer.GRPOTrainer`` and ``trl.trainer.grpo_trainer.GRPOTrainer`` to it. The result is a trainer
class that is NOT a subclass of TRL's ``GRPOTrainer``, as with Unsloth. (Unsloth also rewrites parts of
the methods' bodies for speed; nothing grpotui relies on.)
"""

from __future__ import annotations

import importlib.util
import inspect
import re
import sys
import types


def patch() -> type:
    import trl
    import trl.trainer
    import trl.trainer.grpo_trainer as grpo_module

    source = inspect.getsource(grpo_module)
    package = grpo_module.__package__
    source = re.sub(
        r"^([ \t]*from[ \t]+)(\.+[\w.]*)([ \t]+import[ \t])",
        lambda m: m.group(1) + importlib.util.resolve_name(m.group(2), package) + m.group(3),
        source, flags=re.MULTILINE,
    )
    source = source.replace("class GRPOTrainer", "class _UnslothGRPOTrainer", 1)
    source += '''

class UnslothGRPOTrainer(_UnslothGRPOTrainer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
'''
    name = "unsloth_compiled_cache.UnslothGRPOTrainer"
    module = types.ModuleType(name)
    module.__file__ = f"<{name}>"
    sys.modules[name] = module
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    cls = module.UnslothGRPOTrainer
    original = grpo_module.GRPOTrainer
    assert not issubclass(cls, original)
    trl.GRPOTrainer = cls
    trl.trainer.GRPOTrainer = cls
    grpo_module.GRPOTrainer = cls
    return cls
