"""Time a very large session: 100,000 ballots over 30 subjects, far beyond any real meeting.

    /work/venv/bin/python bench/tally.py [--subjects 30] [--ballots 100000] [--runs 3]

Ballots and answers go in with executemany, the session is closed with close_session (which
rewrites every ballot in random order and seals them), then it prints the median of several
runs for the tally (compute_results), the XLSX workbook and the PDF report.
"""

import argparse
import resource
import time

from synthetic import bench_app, build_closed_session, median_time

from survey.reports.pdf import session_report
from survey.reports.xlsx import tally_workbook
from survey.services.results import compute_results


def peak_mib() -> int:
    """Return the process's peak resident memory so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=30)
    parser.add_argument("--ballots", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    with bench_app():
        started = time.perf_counter()
        session, closing = build_closed_session(args.subjects, args.ballots)
        print(f"session: {args.subjects} subjects, {args.ballots} ballots")
        print(f"  insert, then close       {time.perf_counter() - started:8.1f} s")
        print(f"  of which close_session   {closing:8.1f} s")
        print(f"  peak memory so far       {peak_mib():8d} MiB")
        print(f"median of {args.runs} runs:")
        seconds, results = median_time(lambda: compute_results(session), args.runs)
        print(f"  tally (compute_results)  {seconds:8.2f} s")
        seconds, workbook = median_time(lambda: tally_workbook(results), args.runs)
        print(f"  XLSX workbook            {seconds:8.2f} s  ({len(workbook) // 1024} KiB)")
        seconds, report = median_time(lambda: session_report(results), args.runs)
        print(f"  PDF report               {seconds:8.2f} s  ({len(report) // 1024} KiB)")
        print(f"peak memory (max RSS)      {peak_mib():8d} MiB")


if __name__ == "__main__":
    main()
