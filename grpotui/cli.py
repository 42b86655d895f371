"""The ``grpotui`` command: parse arguments, call the store, the launcher, control, export or the app, print.

Exit codes everywhere: 0 finished, 1 failed, 2 bad input or usage, 3 stopped by a health rule,
4 stopped by the user, 5 killed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from grpotui.store.db import (
    ACTIVE_STATUSES,
    EXIT_FAILED,
    EXIT_USAGE,
    RunStore,
    StoreError,
)
from grpotui.store.paths import LOG_FILE, STORE_FILE, BadRunName


class UsageError(Exception):
    """Bad input: printed as one line per problem, exit code 2."""


def _err(msg: str) -> None:
    for line in str(msg).splitlines():
        print(f"grpotui: error: {line}", file=sys.stderr)


# ----------------------------------------------------------------------------- run / demo
def _interactive() -> bool:
    if "web_driver" in os.environ.get("TEXTUAL_DRIVER", ""):
        return True  # a browser tab of `grpotui serve`
    return sys.stdin.isatty() and sys.stdout.isatty() and os.environ.get("TERM") != "dumb"


def _start(source: str | None, args: argparse.Namespace, *, steps: int | None = None,
           scenario: str = "healthy") -> int:
    from grpotui.runner.launch import RunExists, launch, prepare

    cfg, name, kind = prepare(source, args.set, steps=steps, name=args.name, scenario=scenario)
    if cfg["model"]["backend"] == "unsloth":
        import importlib.util

        if importlib.util.find_spec("unsloth") is None:
            raise UsageError("model.backend: 'unsloth' is not installed here: pip install 'grpotui[unsloth]'")
    from grpotui.config import machine_of

    try:
        if machine_of(cfg)[0] > 0:  # another machine's share of a run: a follower, in the foreground
            from grpotui.runner.launch import follow_run

            return follow_run(cfg, name)
        run_dir, pid = launch(cfg, name, kind)
    except RunExists as e:
        raise UsageError(str(e)) from None
    print(f"started run {name!r} (pid {pid}, detached); its files: {run_dir}", flush=True)
    return _after_start(args, name, run_dir)


def _after_start(args: argparse.Namespace, name: str, run_dir: Path) -> int:
    """Follow the started run in text (--headless), open its dashboard (a terminal), or say how to."""
    if args.headless:
        return follow(name, run_dir)
    if _interactive():
        return _open_tui(args, run_name=name)
    print(f"  grpotui attach {name}   grpotui status {name}   grpotui logs {name} -f   grpotui stop {name}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    if args.resume:
        if args.config:
            raise UsageError("run --resume NAME takes no config: the run's own config is used (--set still works)")
        from grpotui.runner.launch import resume, resume_follower

        try:
            code = resume_follower(args.resume, args.set)  # a follower: in the foreground, to its end
            if code is not None:
                return code
            run_dir, pid, ck = resume(args.resume, args.set)
        except ValueError as e:
            raise UsageError(str(e)) from None
        print(f"resuming run {args.resume!r} from {ck.name} (pid {pid}, detached)", flush=True)
        return _after_start(args, args.resume, run_dir)
    if not args.config:
        raise UsageError("run: give a CONFIG.toml (or --resume NAME)")
    return _start(args.config, args)


def cmd_watch(args: argparse.Namespace) -> int:
    """Run the user's own command unchanged, detached, recording every GRPOTrainer it builds."""
    from grpotui.runner.launch import RunExists, auto_name, create_run, spawn_runner

    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise UsageError("watch: no command given: grpotui watch [--name N] -- python train.py ...")
    import shutil

    if shutil.which(command[0]) is None and not Path(command[0]).exists():
        raise UsageError(f"watch: {command[0]!r}: no such command")
    name = args.name or auto_name(Path(command[-1] if command[0].startswith("python") and len(command) > 1
                                       else command[0]).stem or "watch")
    cfg = {"kind": "watch", "command": command, "cwd": os.getcwd(), "answer_field": args.answer_field,
           "run": {"note": " ".join(command)[:200]}}
    try:
        run_dir = create_run(cfg, name, kind="watch")
    except RunExists as e:
        raise UsageError(str(e)) from None
    pid = spawn_runner(run_dir, module="grpotui.runner.watch")
    print(f"watching {' '.join(command)!r} as run {name!r} (pid {pid}, detached); its files: {run_dir}",
          flush=True)
    return _after_start(args, name, run_dir)


def cmd_demo(args: argparse.Namespace) -> int:
    return _start(None, args, steps=args.steps, scenario=args.scenario)


def follow(name: str, run_dir: Path, *, poll: float = 0.5, out: Any = None) -> int:
    """Print one line per logged step and each status change until the run ends; its exit code."""
    from grpotui.report import progress_line
    from grpotui.store.runs import effective_status

    out = out or sys.stdout
    last_step, last_event = -1, 0
    try:
        with RunStore.open(run_dir / STORE_FILE) as store:
            while True:
                info = store.run_info()
                for step, m in store.metrics(last_step):
                    print(progress_line(step, info["max_steps"], m), file=out, flush=True)
                    last_step = step
                events = store.events(skip=last_event)  # only the new ones
                for ev in events:
                    if ev["status"] != "running" or last_event:
                        print(f"[{ev['status']}] {ev['reason'] or ''}".rstrip(), file=out, flush=True)
                last_event += len(events)
                status = effective_status(info)
                if status not in ACTIVE_STATUSES:
                    if status == "lost":
                        print(f"[lost] the runner (pid {info['pid']}) is gone; see grpotui logs {name}",
                              file=out, flush=True)
                        return EXIT_FAILED
                    code = info["exit_code"]
                    return int(code) if code is not None else EXIT_FAILED
                time.sleep(poll)
    except KeyboardInterrupt:
        print(f"\nleft the run going: grpotui status {name} | grpotui stop {name}", file=out, flush=True)
        return 130


# ----------------------------------------------------------------------------- reading
def cmd_ls(args: argparse.Namespace) -> int:
    from grpotui.report import ls_table
    from grpotui.store.runs import summarize_all

    runs = summarize_all()
    if args.tag:
        runs = [r for r in runs if all(t in (r.get("tags") or []) for t in args.tag)]
    if args.json:
        keys = ("name", "status", "step", "max_steps", "reward", "eval_accuracy", "eval_step", "kind", "backend",
                "model", "created_at",
                "started_at", "ended_at", "exit_code", "reason", "alerts", "note", "tags", "error")
        print(json.dumps([{k: r.get(k) for k in keys if k in r} for r in runs], indent=1))
    else:
        print(ls_table(runs) if runs or not args.tag else f"no run tagged {' and '.join(args.tag)}")
    return 0


# ----------------------------------------------------------------------------- notes, tags, deleting
def cmd_note(args: argparse.Namespace) -> int:
    from grpotui.store.runs import open_run, run_note, set_note

    if args.clear or args.text:
        try:
            note = set_note(args.name, "" if args.clear else " ".join(args.text))
        except ValueError as e:
            raise UsageError(f"note: {e}") from None
        print(f"{args.name}: note {'cleared' if not note else 'saved'}")
        return 0
    with open_run(args.name) as store:
        print(run_note(store) or f"{args.name} has no note: grpotui note {args.name} \"TEXT\"")
    return 0


def cmd_tag(args: argparse.Namespace) -> int:
    from grpotui.store.runs import open_run, run_tags, set_tags

    if not args.tags and not args.remove:
        with open_run(args.name) as store:
            print(" ".join(run_tags(store)))
        return 0
    try:
        tags = set_tags(args.name, args.tags, args.remove)
    except ValueError as e:
        raise UsageError(f"tag: {e}") from None
    print(f"{args.name}: tags {' '.join(tags) if tags else '(none)'}")
    return 0


def cmd_rm(args: argparse.Namespace) -> int:
    from grpotui.store.runs import RunActive, delete_run, find_run

    dirs = [find_run(n) for n in args.names]  # every name checked before anything is deleted
    if not args.yes:
        if not _interactive():
            raise UsageError("rm deletes runs and every file of them: confirm with --yes (no terminal to ask on)")
        print("delete " + ", ".join(args.names) + " with every file of them:")
        for d in dirs:
            print(f"  {d}")
        try:
            answer = input("delete? [y/N] ")
        except EOFError:
            answer = ""
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing deleted")
            return 0
    failed = False
    for name in args.names:
        try:
            delete_run(name, force=args.force)
            print(f"deleted {name}")
        except (RunActive, OSError) as e:
            _err(str(e))
            failed = True
    return EXIT_USAGE if failed else 0


# ----------------------------------------------------------------------------- comparing
def _check_names(names: list[str]) -> None:
    """Two or more runs, each named once, each there (a clear error before anything opens)."""
    from grpotui.store.runs import find_run

    if len(names) < 2:
        raise UsageError("give two or more runs to compare")
    if len(set(names)) < len(names):
        raise UsageError("the same run is named twice")
    for n in names:
        find_run(n)


def _headlines(names: list[str]) -> list[Any]:
    from grpotui.compare import headline
    from grpotui.store.runs import open_run

    _check_names(names)
    heads = []
    for n in names:
        with open_run(n) as store:
            heads.append(headline(store, n))
    return heads


def cmd_diff(args: argparse.Namespace) -> int:
    from grpotui.compare import MISSING, config_diff, diff_text, with_learned

    heads = with_learned(_headlines(args.names))
    if args.json:
        diff = config_diff([h.config for h in heads])
        known = all(h.learned_only is not None for h in heads)
        shared, only = (heads[0].prompts_shared if known else None), [h.learned_only for h in heads]
        out = {
            "runs": [h.name for h in heads],
            "config": {k: [None if v is MISSING else v for v in vals] for k, vals in diff},
            "figures": [h.as_dict() for h in heads],
            "prompts_shared": shared,
            "prompts_learned_only_by": {h.name: n for h, n in zip(heads, only, strict=True)},
        }
        print(json.dumps(_finite(out), indent=1, default=str))
    else:
        print(diff_text(heads))
    return 0


def cmd_prompts(args: argparse.Namespace) -> int:
    from grpotui.store.prompts import FIELDS, HIGH, LOW

    with _open(args.name) as store:
        try:
            rows = store.prompts(statuses=args.status or (), sort=args.sort or "first_step",
                                 descending=None if args.sort else False, limit=args.limit)
        except ValueError as e:
            raise UsageError(str(e)) from None
        summary = store.prompt_summary()
    if args.json:
        out = {"summary": summary, "prompts": [{k: r[k] for k in FIELDS} for r in rows]}
        # one line: thousands of prompts (GSM8K has 7,473) print in a fraction of the indented time; the
        # figures come from SQL aggregates (a NaN is stored as NULL), so none needs cleaning
        print(json.dumps(out, ensure_ascii=False))
        return 0
    print(prompts_text(summary, rows, LOW, HIGH))
    return 0


def prompts_text(summary: dict[str, Any], rows: list[dict[str, Any]], low: float, high: float) -> str:
    from grpotui.report import short

    n = summary["prompts"]
    st = summary["statuses"]
    if not n:
        return "no prompts recorded yet"
    lines = [f"{n} prompts: {st['always']} always right ({st['always'] / n:.0%}) and {st['never']} never right "
             f"({st['never'] / n:.0%}) give GRPO no signal; {st['learned']} learned, {st['forgotten']} forgotten, "
             f"{st['mixed']} mixed, {st['once']} seen once (low <= {low:g}, high >= {high:g})"]
    head = f"{'status':<9} {'groups':>6} {'right':>11} {'first':>5} {'last':>5} {'steps':>13} {'reward':>6}  prompt"
    lines.append(head)

    def rate(x: float | None) -> str:
        return "–" if x is None else f"{x:.2f}"

    for r in rows:
        text = " ".join((r["question"] or r["prompt"]).split())
        right = f"{r['right']}/{r['completions']}" + (f"+{r['pending']}?" if r["pending"] else "")
        reward = "–" if r["mean_reward"] is None else f"{r['mean_reward']:.2f}"
        lines.append(f"{r['status']:<9} {r['groups']:>6} {right:>11} {rate(r['first_solve_rate']):>5} "
                     f"{rate(r['last_solve_rate']):>5} {str(r['first_step']) + '-' + str(r['last_step']):>13} "
                     f"{reward:>6}  {short(text, 70)}")
    return "\n".join(lines)


def cmd_compare(args: argparse.Namespace) -> int:
    _check_names(args.names)
    if not _interactive():
        return cmd_diff(argparse.Namespace(names=args.names, json=False))
    return _open_tui(args, compare=list(args.names))


def cmd_serve(args: argparse.Namespace) -> int:
    from grpotui.serve import serve

    try:
        return serve(host=args.host, port=args.port, theme=args.theme, token=not args.no_token,
                     public_url=args.public_url)
    except OSError as e:
        raise UsageError(f"serve: cannot listen on {args.host}:{args.port} ({e.strerror or e})") from None


def _open(name: str, *, readonly: bool = True) -> RunStore:
    from grpotui.store.runs import open_run

    return open_run(name, readonly=readonly)


def cmd_status(args: argparse.Namespace) -> int:
    from grpotui.report import status_text
    from grpotui.store.runs import summarize

    with _open(args.name) as store:
        s = summarize(store)
    if args.json:
        print(json.dumps(_finite(s), indent=1))
    else:
        print(status_text(s))
    return 0


def _finite(v: Any) -> Any:
    import math

    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_finite(x) for x in v]
    return v


def cmd_notify_test(args: argparse.Namespace) -> int:
    """Send a test notification with the settings (and a run's own [notify], given its name)."""
    from grpotui import notify

    table, label = None, "settings.toml"
    if args.name:
        with _open(args.name) as store:
            table = (store.run_info()["config"] or {}).get("notify")
        label = f"settings.toml and run {args.name!r}"
    try:
        cfg = notify.from_settings(table)
    except notify.NotifyConfigError as e:
        raise UsageError(str(e)) from None
    if not notify.enabled(cfg):
        raise UsageError(f"no [notify] webhook or command in {label}")
    ev = notify.event(args.name or "notify-test", "test", status="test", message="a test notification from grpotui")
    failed = 0
    for channel, ok, detail in notify.deliver(cfg, ev, retries=1):
        print(f"{channel}: {'sent' if ok else 'FAILED'} ({detail})")
        failed += not ok
    return 1 if failed else 0


def cmd_logs(args: argparse.Namespace) -> int:
    from grpotui.store.runs import effective_status, find_run

    d = find_run(args.name)
    path = d / LOG_FILE
    if not path.exists():
        raise UsageError(f"{path}: no log yet")
    with open(path, encoding="utf-8", errors="replace") as f:
        sys.stdout.write(f.read())
        sys.stdout.flush()
        if not args.follow:
            return 0
        try:
            while True:
                chunk = f.read()
                if chunk:
                    sys.stdout.write(chunk)
                    sys.stdout.flush()
                    continue
                with RunStore.open(d / STORE_FILE) as store:
                    if effective_status(store.run_info()) not in ACTIVE_STATUSES:
                        sys.stdout.write(f.read())
                        return 0
                time.sleep(0.5)
        except KeyboardInterrupt:
            return 0


def cmd_export(args: argparse.Namespace) -> int:
    from grpotui import export

    scan = None if args.what in export.SMALL else 1000
    binary = args.format in export.BINARY_FORMATS
    if binary and args.output in (None, "-"):
        raise UsageError(f"--format {args.format} writes a binary file: give it with -o FILE")
    with _open(args.name) as store:
        if args.output in (None, "-"):
            export.write(export.rows(store, args.what), args.format, sys.stdout, scan=scan)
            return 0
        out = Path(args.output)
        tmp = out.with_name(f".{out.name}.tmp")
        try:
            # private like the run it comes from (0600), written whole or not at all
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            if binary:
                os.close(fd)
                n = export.write_parquet(lambda: export.rows(store, args.what), str(tmp))
            else:
                with open(fd, "w", encoding="utf-8", newline="") as f:
                    n = export.write(export.rows(store, args.what), args.format, f, scan=scan)
            tmp.replace(out)
        except OSError as e:
            raise UsageError(f"{args.output}: cannot write ({e.strerror or e})") from None
        finally:
            tmp.unlink(missing_ok=True)
    print(f"wrote {n} {args.what} rows to {out}", file=sys.stderr)
    return 0


# ----------------------------------------------------------------------------- control
def cmd_control(args: argparse.Namespace) -> int:
    from grpotui import control
    from grpotui.store.runs import find_run

    try:
        sent = control.send(find_run(args.name), args.command, name=args.name, grace=getattr(args, "grace", 10.0))
    except control.ControlRefused as e:
        raise UsageError(str(e)) from None
    print(f"{args.name}: {sent.text}")
    return 0


# ----------------------------------------------------------------------------- the dashboard
def _open_tui(args: argparse.Namespace, run_name: str | None = None, compare: list[str] | None = None) -> int:
    from grpotui.tui.app import make_app

    app = make_app(run_name=run_name, compare=compare, theme=getattr(args, "theme", None))
    app.run()
    return 0


def cmd_attach(args: argparse.Namespace) -> int:
    from grpotui.store.runs import FOLLOWS_KEY, find_run, where_to_open

    d = find_run(args.name)  # a clear error before the screen opens
    with RunStore.open(d / STORE_FILE) as store:
        if store.run_info()["kind"] == "follower":  # nothing of the run is here: say where it is
            raise UsageError(where_to_open(args.name, json.loads(store.get_meta(FOLLOWS_KEY) or "null")))
    if not _interactive():
        return cmd_status(argparse.Namespace(name=args.name, json=False))
    return _open_tui(args, run_name=args.name)


def cmd_default(args: argparse.Namespace) -> int:
    """``grpotui``: the runs screen on a terminal, the list of runs elsewhere."""
    if _interactive():
        return _open_tui(args)
    return cmd_ls(argparse.Namespace(json=False, tag=[]))


# ----------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    from grpotui.runner.demo import DEMO_STEPS  # light at import: the demo's settings, no torch

    p = argparse.ArgumentParser(prog="grpotui", description="Run, watch and control GRPO training.")
    p.add_argument("--version", action="version", version=f"grpotui {_version()}")
    p.add_argument("--theme", help="dashboard theme (grpotui-dark, grpotui-light, any Textual theme, "
                   "or one of yours in $GRPOTUI_HOME/themes/); default from $GRPOTUI_HOME/settings.toml")
    p.set_defaults(func=cmd_default)
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND")

    def run_opts(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--name", help="run name (default: derived from the config and the time)")
        sp.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key, TOML value syntax (repeatable): training.learning_rate=1e-5")
        sp.add_argument("--headless", action="store_true",
                        help="follow the run in plain text and exit with its exit code (no dashboard)")

    sp = sub.add_parser("run", help="start a GRPO run from a TOML config, detached")
    sp.add_argument("config", nargs="?", help="the run's TOML config")
    sp.add_argument("--resume", metavar="NAME",
                    help="continue a stopped, failed, killed or lost run from its last checkpoint, in the same run")
    run_opts(sp)
    sp.set_defaults(func=cmd_run)

    sp = sub.add_parser("demo", help="a real GRPO run of a tiny built-in model on arithmetic, on the CPU")
    sp.add_argument("--steps", type=int, default=DEMO_STEPS, help=f"training steps (default {DEMO_STEPS})")
    sp.add_argument("--scenario", choices=("healthy", "collapse", "hacking"), default="healthy",
                    help="collapse: a real run set up to collapse (lr far too high, no KL penalty); hacking: a "
                    "second, hackable reward (a bonus for answering 9, never right)")
    run_opts(sp)
    sp.set_defaults(func=cmd_demo)

    sp = sub.add_parser("watch", help="run your own training command unchanged and record its GRPOTrainer",
                        usage="grpotui watch [--name N] [--headless] [--answer-field F] -- COMMAND [ARGS...]")
    sp.add_argument("--name", help="run name (default: the script's name and the time)")
    sp.add_argument("--headless", action="store_true", help="follow in plain text, exit with the command's code")
    sp.add_argument("--answer-field", help="dataset column with the expected answer (default: answer, "
                    "solution, ground_truth, ... whichever the reward functions receive)")
    sp.add_argument("command", nargs=argparse.REMAINDER, help="the command, after --")
    sp.set_defaults(func=cmd_watch)

    sp = sub.add_parser("attach", help="open a run's dashboard (live, or as a replay once it has ended)")
    sp.add_argument("name")
    sp.set_defaults(func=cmd_attach)

    sp = sub.add_parser("ls", help="list every run")
    sp.add_argument("--json", action="store_true")
    sp.add_argument("--tag", action="append", default=[], help="only runs with this tag (repeatable: all of them)")
    sp.set_defaults(func=cmd_ls)

    sp = sub.add_parser("note", help="show, set or clear a run's note (why it was started, what was learned)")
    sp.add_argument("name")
    sp.add_argument("text", nargs="*", help="the note (replaces the old one); none: print the note")
    sp.add_argument("--clear", action="store_true", help="remove the note")
    sp.set_defaults(func=cmd_note)

    sp = sub.add_parser("tag", help="show, add or remove a run's tags")
    sp.add_argument("name")
    sp.add_argument("tags", nargs="*", help="tags to add (none: print the run's tags)")
    sp.add_argument("-r", "--remove", nargs="+", default=[], metavar="TAG", help="tags to remove")
    sp.set_defaults(func=cmd_tag)

    sp = sub.add_parser("rm", help="delete ended runs with every file of them (asks first)")
    sp.add_argument("names", nargs="+", metavar="name")
    sp.add_argument("-y", "--yes", action="store_true", help="do not ask")
    sp.add_argument("--force", action="store_true",
                    help="also delete runs whose store cannot be read (damaged, or from a newer grpotui)")
    sp.set_defaults(func=cmd_rm)

    sp = sub.add_parser("compare", help="compare runs side by side: curves, config differences, groups")
    sp.add_argument("names", nargs="+", metavar="name")
    sp.set_defaults(func=cmd_compare)

    sp = sub.add_parser("notify-test", help="send a test notification ([notify] in settings.toml or the run's config)")
    sp.add_argument("name", nargs="?", help="a run whose own [notify] applies too")
    sp.set_defaults(func=cmd_notify_test)

    sp = sub.add_parser("prompts", help="every prompt's history: which problems it learned, never or always solves")
    sp.add_argument("name")
    sp.add_argument("--json", action="store_true", help='one object: {"summary": ..., "prompts": [...]}')
    sp.add_argument("--status", action="append", metavar="S",
                    help="only prompts of this status (repeatable): once, never, always, learned, forgotten, mixed")
    sp.add_argument("--sort", metavar="FIELD", help="sort by this field (numbers high first; default first_step)")
    sp.add_argument("--limit", type=int, metavar="N", help="at most N prompts")
    sp.set_defaults(func=cmd_prompts)

    sp = sub.add_parser("diff", help="the config keys in which runs differ and their headline figures, as text")
    sp.add_argument("names", nargs="+", metavar="name")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_diff)

    sp = sub.add_parser("serve", help="serve the dashboard over HTTP for a browser tab (textual-serve)")
    sp.add_argument("--host", default="127.0.0.1",
                    help="address to listen on (default 127.0.0.1: forward the port with ssh -L)")
    sp.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    sp.add_argument("--public-url", help="the URL the browser uses, when it is not http://HOST:PORT")
    sp.add_argument("--no-token", action="store_true",
                    help="no secret in the URL (anyone who reaches the port controls your runs)")
    sp.set_defaults(func=cmd_serve)

    sp = sub.add_parser("status", help="one run's status, step, metrics and alerts")
    sp.add_argument("name")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_status)

    for command, text in (("pause", "pause at the next step boundary"), ("resume", "resume a paused run"),
                          ("stop", "save a checkpoint and stop"), ("kill", "end the run now")):
        sp = sub.add_parser(command, help=text)
        sp.add_argument("name")
        if command == "kill":
            sp.add_argument("--grace", type=float, default=10.0,
                            help="seconds to wait for the runner before SIGKILL (default 10)")
        sp.set_defaults(func=cmd_control, command=command)

    sp = sub.add_parser("logs", help="the runner's output")
    sp.add_argument("name")
    sp.add_argument("-f", "--follow", action="store_true", help="keep printing until the run ends")
    sp.set_defaults(func=cmd_logs)

    from grpotui.export import FORMATS, WHATS

    sp = sub.add_parser("export", help="export metrics, groups, system samples, alerts or events")
    sp.add_argument("name")
    sp.add_argument("--what", choices=WHATS, default="metrics")
    sp.add_argument("--format", choices=FORMATS, default="jsonl")
    sp.add_argument("-o", "--output", help="file to write (default: standard output)")
    sp.set_defaults(func=cmd_export)
    return p


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("grpotui")
    except Exception:
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from grpotui.config import ConfigError
    from grpotui.store.fs import NetworkFilesystem
    from grpotui.store.runs import RunNotFound

    try:
        return int(args.func(args) or 0)
    except (UsageError, ConfigError, RunNotFound, BadRunName, StoreError, NetworkFilesystem) as e:
        _err(str(e))
        return EXIT_USAGE
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
