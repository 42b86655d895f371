"""Typed messages a worker posts back to its screen: each carries the answer of one session method.

A worker runs in a thread, calls one method of the screen's session and posts one of these; the screen
handles it on the event loop. A worker that raises posts nothing: the screen's one worker-error handler
(:class:`grpotui.tui.base.ShowsWorkerErrors`) shows the error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message

from grpotui.control import Sent
from grpotui.tui.data import PromptHistory, PromptsPage, StepGroups
from grpotui.tui.session import CompareStep, CompareUpdate, RunUpdate, StepSnapshot


@dataclass
class RunPolled(Message, bubble=False):
    """What is new in the run (:meth:`RunSession.poll`)."""

    update: RunUpdate


@dataclass
class StepFound(Message, bubble=False):
    """The recorded step to go to (None: there is none); ``delta`` 0 when asked for by number."""

    step: int | None
    delta: int


@dataclass
class StepLoaded(Message, bubble=False):
    """The run as it was at the step asked for (:meth:`RunSession.snapshot`)."""

    snapshot: StepSnapshot


@dataclass
class PromptsRead(Message, bubble=False):
    """A page of the run's prompts (:meth:`RunSession.prompts_page`)."""

    page: PromptsPage


@dataclass
class PromptHistoryRead(Message, bubble=False):
    """One prompt's appearances and the group of the one on show (:meth:`RunSession.prompt_history`)."""

    history: PromptHistory


@dataclass
class CommandSent(Message, bubble=False):
    """A control command reached the run (:meth:`RunSession.send`)."""

    sent: Sent


@dataclass
class TextLoaded(Message, bubble=False):
    """A long text to show (a traceback, the end of a log)."""

    title: str
    text: str


@dataclass
class ComparePolled(Message, bubble=False):
    """What is new in the compared runs (:meth:`CompareSession.poll`)."""

    update: CompareUpdate


@dataclass
class CompareStepLoaded(Message, bubble=False):
    """Every compared run's groups at the step moved to (:meth:`CompareSession.step_from`)."""

    step: CompareStep


@dataclass
class RunsListed(Message, bubble=False):
    """Every run's summary, newest first (:meth:`RunsSession.poll`)."""

    runs: list[dict[str, Any]]


@dataclass
class RunChanged(Message, bubble=False):
    """A run's note or tags were written, or the run was deleted; ``text`` says so (empty: say nothing)."""

    name: str
    text: str = ""


@dataclass
class LaunchDone(Message, bubble=False):
    """A new run started (``name``), or it could not (``problems``, one line each)."""

    name: str | None
    problems: str = ""


@dataclass
class EvalsRead(Message, bubble=False):
    """Every held-out evaluation's figures, oldest first (:meth:`RunSession.evals`)."""

    evals: list[dict[str, Any]]


@dataclass
class EvalGroupsRead(Message, bubble=False):
    """The problems of one evaluation with their samples (:meth:`RunSession.eval_groups`)."""

    groups: StepGroups
