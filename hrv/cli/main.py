"""``hrv-sentinel``: the command-line tool that ``make install`` puts in ``.venv/bin/``.

``hrv-sentinel backtest [PATH...]`` replays each athlete's history evening by evening, as
it arrived, and reports what the forecast really achieved out of sample beside
persistence and the 7-day mean.

``hrv-sentinel check PATH...`` says, before anything is dropped, what the system would do
with each file or folder: a journal for which athlete and days, a wearable export of which
vendor with how many nights, a file without HRV, or why it would be rejected.

Exit status: 0 every file is usable (or a recognised export's file without HRV, which the
system lists and leaves alone) and at least one holds data; 1 some file would be rejected;
2 a usage error (a path that does not exist); 3 nothing would be rejected but nothing
holds data either (only files without HRV).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from tqdm import tqdm

from hrv.intake.exports import NOT_HRV, REJECTED
from hrv.intake.verdicts import Places, Verdict, files_under, judge
from hrv.settings import SettingsError, load_settings

EXIT_OK, EXIT_REJECTED, EXIT_USAGE, EXIT_NOTHING = 0, 1, 2, 3
BAR_MIN_BYTES = 16 << 20  # a progress bar for work bigger than this (a big export)

CHECK_EXAMPLES = """examples:
  hrv-sentinel check ~/Downloads/my_whoop_data.zip
  hrv-sentinel check sources/ inbox/            every file the sensors would read
  hrv-sentinel check --athlete bob export.xml   whose nights a loose file would be
  hrv-sentinel check --json sources/ | jq '.[] | select(.verdict=="rejected")'

exit status: 0 all usable, 1 something would be rejected, 2 usage error,
3 nothing rejected but no HRV or journal data in any file"""


def _places(args: argparse.Namespace) -> Places:
    settings = load_settings()
    return Places(
        inbox=Path(settings.inbox_dir),
        sources=Path(settings.sources_dir),
        default_athlete=args.athlete or settings.default_athlete,
        tz=settings.tz,
    )


def check(args: argparse.Namespace) -> int:
    missing = [p for p in args.paths if not p.exists() and not p.is_symlink()]
    if missing:
        for p in missing:
            print(f"hrv-sentinel check: {p}: no such file or folder", file=sys.stderr)
        return EXIT_USAGE
    try:
        places = _places(args)
    except SettingsError as exc:
        print(f"hrv-sentinel check: {exc}", file=sys.stderr)
        return EXIT_USAGE
    files = [f for target in args.paths for f in files_under(target, places)]
    sizes = [_size(f) for f in files]
    verdicts: list[Verdict] = []
    with tqdm(
        total=sum(sizes),
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc="checking",
        file=sys.stderr,
        leave=False,
        disable=None if sum(sizes) >= BAR_MIN_BYTES and not args.no_progress else True,
    ) as bar:
        done = 0
        for path, size in zip(files, sizes, strict=True):
            bar.set_postfix_str(path.name, refresh=False)

            def progress(n: int, base: int = done, cap: int = size) -> None:
                bar.update(base + min(n, cap) - bar.n)

            verdicts.append(judge(path, places, progress))
            done += size
            bar.update(done - bar.n)
    if args.json:
        json.dump([v.to_dict() for v in verdicts], sys.stdout, indent=2)
        print()
    else:
        _print_human(verdicts, args.verbose)
    return _exit_status(verdicts)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size if path.is_file() else 0
    except OSError:
        return 0


def _print_human(verdicts: list[Verdict], verbose: bool) -> None:
    for v in verdicts:
        print(v.headline())
        if v.note and v.verdict != NOT_HRV:
            print(f"    {v.note}")
        for line in v.details(examples=10 if verbose else 1):
            print(line)
    counts: dict[str, int] = {}
    for v in verdicts:
        counts[v.verdict] = counts.get(v.verdict, 0) + 1
    summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    print(f"{len(verdicts)} file(s): {summary or 'nothing to check'}")


def _exit_status(verdicts: list[Verdict]) -> int:
    if any(v.verdict == REJECTED for v in verdicts):
        return EXIT_REJECTED
    if not any(v.usable for v in verdicts):
        return EXIT_NOTHING
    return EXIT_OK


BACKTEST_EXAMPLES = """examples:
  hrv-sentinel backtest                          every athlete in the data store
  hrv-sentinel backtest --athlete alice --last 60
  hrv-sentinel backtest sources/ inbox/          histories read from the folders
  hrv-sentinel backtest --json ~/exports/whoop.zip --athlete me

exit status: 0 done (athletes without enough data are listed with 0 evaluated days),
2 usage error (a path that does not exist, an unknown athlete, no athlete at all)"""


def backtest(args: argparse.Namespace) -> int:
    from hrv.analytics.backtest import n_evenings, replay
    from hrv.intake.histories import load_histories
    from hrv.storage.athlete_store import AthleteStore

    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"hrv-sentinel backtest: {exc}", file=sys.stderr)
        return EXIT_USAGE
    missing = [p for p in args.paths if not p.exists()]
    for p in missing:
        print(f"hrv-sentinel backtest: {p}: no such file or folder", file=sys.stderr)
    if missing:
        return EXIT_USAGE
    if args.paths:
        histories = load_histories(
            args.paths,
            inbox=Path(settings.inbox_dir),
            sources=Path(settings.sources_dir),
            default_athlete=args.athlete or settings.default_athlete,
            tz=settings.tz,
        )
        if args.athlete:
            histories = {a: h for a, h in histories.items() if a == args.athlete}
    else:
        store_root = Path(settings.data_dir) / "store"
        names = (
            sorted(p.name for p in store_root.iterdir() if p.is_dir())
            if store_root.is_dir()
            else []
        )
        if args.athlete:
            names = [n for n in names if n == args.athlete]
        histories = {}
        for name in names:
            store = AthleteStore(Path(settings.data_dir), name)
            histories[name] = (store.effective_journal(), store.readings())
    if not histories:
        where = "the given paths" if args.paths else f"{settings.data_dir}/store"
        who = f"athlete {args.athlete!r}" if args.athlete else "any athlete"
        print(f"hrv-sentinel backtest: no history for {who} in {where}", file=sys.stderr)
        return EXIT_USAGE
    total = sum(n_evenings(readings, args.last) for _, readings in histories.values())
    reports = []
    with tqdm(
        total=total,
        unit="evening",
        desc="replaying",
        file=sys.stderr,
        leave=False,
        disable=True if args.no_progress else None,
    ) as bar:
        for athlete, (entries, readings) in histories.items():
            bar.set_postfix_str(athlete, refresh=False)
            reports.append(replay(athlete, entries, readings, last=args.last, progress=bar.update))
    if args.json:
        json.dump([r.to_dict() for r in reports], sys.stdout, indent=2)
        print()
        return EXIT_OK
    cols = (
        "athlete",
        "metric",
        "days",
        "evaluated",
        "model",
        "persist.",
        "7d mean",
        "bias",
        "cover80",
    )
    print("{:<14} {:<6} {:>5} {:>9} {:>7} {:>8} {:>7} {:>6} {:>7}".format(*cols))

    def f(v: float | None, digits: int = 2) -> str:
        return "-" if v is None else f"{v:.{digits}f}"

    for r in reports:
        print(
            f"{r.athlete:<14} {r.metric:<6} {r.n_days:>5} {r.evaluated_days:>9} "
            f"{f(r.model_mae_ms):>7} {f(r.persistence_mae_ms):>8} {f(r.rolling_7d_mae_ms):>7} "
            f"{f(r.bias_ms):>6} {f(r.interval_coverage):>7}"
        )
    print("MAE in ms of the next morning, out of sample: each evening forecast with only what")
    print("was known that evening (selection included); cover80 = share of mornings inside")
    print("the 80% interval.")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hrv-sentinel",
        description="HRV Sentinel's command-line tool.",
        epilog="example: hrv-sentinel check sources/bob/physiological_cycles.csv",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser(
        "check",
        help="what the system would do with each file or folder",
        description=(
            "Say what the system would do with each file or folder: a journal (athlete, "
            "days), a wearable export (vendor, athlete, nights, date range, metric, rows "
            "skipped with reasons), a file without HRV, or why it would be rejected. Files "
            "under HRV_INBOX_DIR and HRV_SOURCES_DIR are judged exactly as the sensors "
            "judge them; other files by their content."
        ),
        epilog=CHECK_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="files or folders")
    p.add_argument("--json", action="store_true", help="a JSON list, one object per file")
    p.add_argument(
        "--athlete",
        help="the athlete for files that do not name one (default: HRV_DEFAULT_ATHLETE)",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="more skipped-row examples")
    p.add_argument("--no-progress", action="store_true", help="never draw a progress bar")
    p.set_defaults(func=check)
    b = sub.add_parser(
        "backtest",
        help="what the forecast really achieved, replayed evening by evening",
        description=(
            "Replay each athlete's history evening by evening as it arrived (from the data "
            "store, or from the given inbox/sources folders and files) and report what the "
            "forecast achieved out of sample: MAE beside persistence and the 7-day mean, "
            "bias, and the coverage of the 80%% interval."
        ),
        epilog=BACKTEST_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    b.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="folders or files")
    b.add_argument("--athlete", help="only this athlete (or whose loose files these are)")
    b.add_argument("--last", type=int, metavar="N", help="only the last N evenings")
    b.add_argument("--json", action="store_true", help="a JSON list, one object per athlete")
    b.add_argument("--no-progress", action="store_true", help="never draw a progress bar")
    b.set_defaults(func=backtest)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result: Any = args.func(args)
    except BrokenPipeError:  # `hrv-sentinel check ... | head`: the reader has had enough
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, as a shell reports it
    return int(result)


if __name__ == "__main__":
    sys.exit(main())
