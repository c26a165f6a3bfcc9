"""``hrv-sentinel``: the command-line tool that ``make install`` puts in ``.venv/bin/``.

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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: Any = args.func(args)
    return int(result)


if __name__ == "__main__":
    sys.exit(main())
