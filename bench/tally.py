"""Time a very large session: 100,000 ballots over 30 subjects, far beyond any real meeting.

    /work/venv/bin/python bench/tally.py [--subjects 30] [--ballots 100000] [--runs 3]
        [--database-url postgresql://…/empty_db] [--no-close] [--python-tally] [--pdf]

The ballots are sealed as cast() seals them and inserted in bulk; then the session is closed
with close_session (open every seal, shuffle, insert, delete the sealed rows, rewrite the
codes, store the tally, seal, destroy the key, scrub), or with --no-close only marked closed
with its ballots inserted in clear. Then: the tally (compute_results, which reads the tally
the close stored), the recount the stored tally is checked against (every ballot's compact
ratings decoded and counted), the XLSX workbook (raw-ballot and 意见建议 sheets streamed) and,
with --pdf, the PDF report.

Every step prints wall-clock and CPU seconds of this process and how far it raised the peak
RSS above the RSS before it (VmHWM, reset through /proc/self/clear_refs), plus the load
average, because this machine is shared. On PostgreSQL it also prints the CPU the database's
backends of this run spent (from /proc, the server being local); on SQLite the database
works inside this process.
"""

import argparse
import resource
import statistics
import time

from synthetic import Step, bench_app, build_closed_session, load

from survey.extensions import db
from survey.reports.xlsx import tally_workbook
from survey.services.results import (
    _specs,
    compute_results,
    recount_tally,
    stored_tally_holds,
)


def timed(label: str, task, runs: int):
    """Run task `runs` times; print the median wall time with the last run's other figures."""
    walls, result = [], None
    for _ in range(runs):
        with Step(label) as last:
            result = task()
        walls.append(last.wall)
    print(last.line(statistics.median(walls)))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=30)
    parser.add_argument("--ballots", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database-url", help="an empty throwaway database (default: SQLite)")
    parser.add_argument("--no-close", action="store_true", help="mark closed, skip close_session")
    parser.add_argument("--python-tally", action="store_true", help="also time the old tally")
    parser.add_argument("--pdf", action="store_true", help="also time the PDF report")
    args = parser.parse_args()

    with bench_app(args.database_url):
        engine = db.engine.dialect.name
        print(f"{engine}: {args.subjects} subjects, {args.ballots} ballots; load {load()}")
        started = time.perf_counter()
        closing = Step("close_session")
        session, _ = build_closed_session(
            args.subjects, args.ballots, close=not args.no_close, step=closing
        )
        print(f"  build + close: {time.perf_counter() - started:.1f} s")
        if not args.no_close:
            print(closing.line())
        print(f"median of {args.runs} runs:")
        results = timed("tally (compute_results)", lambda: compute_results(session), args.runs)
        subjects, groups = _specs(session)
        recount = timed(
            "recount (every ballot decoded)",
            lambda: recount_tally(session, session.frozen_questionnaire(), subjects, groups),
            args.runs,
        )
        assert recount.counts == results.tally.counts, "the stored tally is not the recount"
        if not args.no_close:
            assert stored_tally_holds(session)
        if args.python_tally:
            from survey.domain.evaluation import evaluate
            from survey.services.results import stored_ballots, team_parts_of
            from survey.services.rulesets import ruleset_for

            timed(
                "tally in Python (every ballot)",
                lambda: evaluate(
                    session.frozen_questionnaire(),
                    ruleset_for(session.rule_set_key, session.rule_set_version),
                    subjects,
                    groups,
                    stored_ballots(session),
                    session.min_group_size,
                    team_parts_of(session),
                ),
                args.runs,
            )
        db.session.commit()
        timed(
            "stream every ballot (iter_ballots)",
            lambda: sum(1 for _ in results.iter_ballots()),
            args.runs,
        )
        workbook = timed(
            "XLSX workbook (tally included)",
            lambda: tally_workbook(compute_results(session)),
            args.runs,
        )
        print(f"    ({len(workbook) // 1024} KiB)")
        if args.pdf:
            from survey.reports.pdf import session_report

            report = timed("PDF report", lambda: session_report(results), args.runs)
            print(f"    ({len(report) // 1024} KiB)")
        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        print(f"  peak RSS of the whole run (getrusage): {maxrss} MiB; load {load()}")


if __name__ == "__main__":
    main()
