"""Time a very large session: 100,000 ballots over 30 subjects, far beyond any real meeting.

    /work/venv/bin/python bench/tally.py [--subjects 30] [--ballots 100000] [--runs 3]
    /work/venv/bin/python bench/tally.py --no-close      # mark closed: tally and reports only

Ballots and answers go in with executemany, the session is closed with close_session (or,
with --no-close, only marked closed), then it prints the median of several runs of the tally
(compute_results: GROUP BY in the database), of the tally as it was before (every ballot read
into Python and counted there, the domain's evaluate), of the XLSX workbook and of the PDF
report, each with the growth of peak memory it caused (VmHWM, reset before each step).
"""

import argparse
import time
from pathlib import Path

from synthetic import bench_app, build_closed_session, median_time

from survey.domain.evaluation import evaluate
from survey.reports.pdf import session_report
from survey.reports.xlsx import tally_workbook
from survey.services.results import _specs, compute_results, stored_ballots, team_parts_of
from survey.services.rulesets import ruleset_for


def rss_mib(field: str) -> int:
    """VmRSS or VmHWM (peak) of this process, in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) // 1024
    return 0


def reset_peak() -> int:
    """Reset the peak-RSS mark to the current RSS (Linux: clear_refs 5); return it."""
    Path("/proc/self/clear_refs").write_text("5")
    return rss_mib("VmRSS")


def measured(label: str, task, runs: int):
    start = reset_peak()
    seconds, result = median_time(task, runs)
    print(f"  {label:<34} {seconds:8.2f} s   peak +{rss_mib('VmHWM') - start:5d} MiB")
    return result


def tally_in_python(session):
    """The tally as compute_results did it before: every ballot read, counted in Python."""
    subjects, groups = _specs(session)
    return evaluate(
        session.frozen_questionnaire(),
        ruleset_for(session.rule_set_key, session.rule_set_version),
        subjects,
        groups,
        stored_ballots(session),
        session.min_group_size,
        team_parts_of(session),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=30)
    parser.add_argument("--ballots", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-close", action="store_true", help="mark closed, skip close_session")
    args = parser.parse_args()

    with bench_app():
        started = time.perf_counter()
        session, closing = build_closed_session(
            args.subjects, args.ballots, close=not args.no_close
        )
        print(f"session: {args.subjects} subjects, {args.ballots} ballots")
        print(f"  insert, then close       {time.perf_counter() - started:8.1f} s")
        if not args.no_close:
            print(f"  of which close_session   {closing:8.1f} s")
        print(f"  peak memory so far       {rss_mib('VmHWM'):8d} MiB")
        print(f"median of {args.runs} runs (peak: growth over the RSS before the step):")
        results = measured(
            "tally (compute_results, SQL)", lambda: compute_results(session), args.runs
        )
        before = measured(
            "tally in Python (as before)", lambda: tally_in_python(session), args.runs
        )
        assert before.tally.counts == results.tally.counts, "the two tallies differ"
        workbook = measured(
            "XLSX workbook",
            lambda: tally_workbook(compute_results(session)),
            args.runs,
        )
        print(f"    ({len(workbook) // 1024} KiB)")
        report = measured("PDF report", lambda: session_report(results), args.runs)
        print(f"    ({len(report) // 1024} KiB)")


if __name__ == "__main__":
    main()
