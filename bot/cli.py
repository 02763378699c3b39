"""The `divbot` command: run the bot, replay history, print the Slack manifest, show and
correct the market calendars."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import date
from pathlib import Path

from bot.config import Settings, exit_on_bad_config
from bot.logs import setup_logging
from bot.market import calendars_cli
from bot.seedfiles import SeedFileError


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date like 2026-01-15, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="divbot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run the bot (watchers, chat transports, HTTP server)")
    rp = sub.add_parser("replay", help="replay bundled history and print every alert")
    rp.add_argument("--from", dest="start", type=_date, help="first day")
    rp.add_argument("--to", dest="end", type=_date, help="last day")
    rp.add_argument("--data", type=Path, default=None, help="data folder (default: seeds/history)")
    rp.add_argument(
        "--scenario",
        type=Path,
        action="append",
        help="a scenario file (tests/scenarios/*.toml; repeatable): replay it, print what "
        "differs from its expected alerts, exit 1 on a difference",
    )
    sub.add_parser("check-config", help="validate the settings and the seed files and exit")
    calendars_cli.add_parser(sub)
    sm = sub.add_parser("slack-manifest", help="print the Slack app manifest (JSON) to paste")
    sm.add_argument("--url", help="the bot's public https base URL (events go to /slack/events)")
    sm.add_argument("--socket-mode", action="store_true", help="no request URLs: Socket Mode")
    ev = sub.add_parser(
        "eval-headlines", help="precision and recall of the headline classifier on a labelled set"
    )
    ev.add_argument(
        "file",
        nargs="?",
        type=Path,
        default=None,
        help="labelled titles (default: seeds/headline_eval.synthetic.txt)",
    )
    ev.add_argument("--misses", action="store_true", help="also list every title it got wrong")
    return parser


def eval_headlines(settings: Settings, file: Path | None, misses: bool) -> int:
    """`divbot eval-headlines [FILE]`: the figures on the team's labelled titles."""
    from bot.headlines.classifier import load_rules
    from bot.headlines.evaluation import EvalSetError, evaluate, load_eval_set, report

    rules = load_rules(settings.seeds_dir / "headline_rules.toml")
    path = file or settings.seeds_dir / "headline_eval.synthetic.txt"
    try:
        examples = load_eval_set(path, rules.ids())
    except EvalSetError as exc:
        print(f"eval-headlines: {exc}", file=sys.stderr)
        return 2
    print("\n".join(report(evaluate(rules, examples), misses=misses)))
    return 0


def exit_on_bad_seeds(settings: Settings) -> None:
    """Validate every seed file or stop with exit status 2 and one line on stderr naming the
    file and the field (``seed error: watchlist.toml: STAR50.band: …``), like a bad setting."""
    from bot.wiring import check_seeds

    try:
        check_seeds(settings)
    except SeedFileError as exc:
        print(f"seed error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def run_scenarios(settings: Settings, paths: list[Path]) -> int:
    """Replay each scenario; print what differs; 0 when all match, 1 on a difference,
    2 for a file that does not validate."""
    from bot.replay import run_scenario
    from bot.scenario import ScenarioError, describe, load

    status = 0
    for path in paths:
        try:
            scenario = load(path)
            run = asyncio.run(run_scenario(settings, scenario))
        except ScenarioError as exc:
            print(f"scenario error: {exc}", file=sys.stderr)
            return 2
        lines = [f"command refused: {r}" for r in run.result.replies]
        lines += describe(run.difference, scenario.file.tz)
        if lines:
            status = 1
            print(f"\n{path.name}: DIFFERS from its expectations", file=sys.stdout)
            for line in lines:
                print("  " + line)
        else:
            n = len(scenario.file.expect)
            print(f"\n{path.name}: ok ({n} expected alert{'s' if n != 1 else ''}, all delivered)")
    return status


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "slack-manifest":  # needs no settings: it describes the app to Slack
        from bot.transports.slack_manifest import manifest_json

        try:
            print(manifest_json(args.url, socket_mode=args.socket_mode))
        except ValueError as exc:
            print(f"slack-manifest: {exc}", file=sys.stderr)
            return 2
        return 0
    settings = exit_on_bad_config()
    exit_on_bad_seeds(settings)
    if args.command == "check-config":
        print("config ok")
        return 0
    if args.command == "eval-headlines":
        return eval_headlines(settings, args.file, args.misses)
    if args.command == "calendars":
        setup_logging("WARNING")
        return calendars_cli.run(settings, args)
    if args.command == "replay":
        setup_logging("WARNING")
        if args.scenario:
            return run_scenarios(settings, args.scenario)
        if args.start is None or args.end is None:
            print("replay: --from and --to are required (or --scenario FILE)", file=sys.stderr)
            return 2
        if args.end < args.start:
            print("replay: --to must not be before --from", file=sys.stderr)
            return 2
        data = args.data or settings.seeds_dir / "history"
        if not (data / "bars").is_dir():
            print(f"replay: no bars/ folder in {data}", file=sys.stderr)
            return 2
        from bot.replay import replay

        asyncio.run(replay(settings, args.start, args.end, data))
        return 0
    setup_logging(settings.log_level)
    from bot.app import run_app

    return run_app(settings)


if __name__ == "__main__":
    raise SystemExit(main())
