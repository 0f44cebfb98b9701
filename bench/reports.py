"""Time the result reports of a closed 30-subject session with 1,000 ballots.

    /work/venv/bin/python bench/reports.py [--subjects 30] [--ballots 1000] [--runs 5]

Prints, for each step, the median wall time and the median CPU time of this process
(time.process_time: what the step itself costs, whatever else the machine is running), and
the load average before and after. Steps: compute_results, the web page's two charts
(matplotlib SVG), the PDF report (unsigned and signed), the XLSX workbook, one signed
廉政档案 sheet, the archive JSON, the signed archive ZIP and its verification.

"cold" is a report made after CJK_GLYPHS.forget(): it also converts to TrueType every glyph
the session's documents print (survey/reports/fonts.py, CjkGlyphs), as the first document of
a fresh worker process does; later documents reuse them. Imports are warmed up before.
"""

import argparse
import os
import statistics
import time

from synthetic import bench_app, build_closed_session

from survey.exports import archive_zip, sign_pdf, signed_sheet
from survey.reports.charts import distribution_chart, rates_chart
from survey.reports.fonts import CJK_GLYPHS
from survey.reports.pdf import session_report
from survey.reports.xlsx import tally_workbook
from survey.services.archive import archive_bytes, verify_upload
from survey.services.results import compute_results
from survey.services.signoff import sign_off


def measured(task):
    """Run task once; return (wall seconds, CPU seconds, result)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = task()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def median_times(task, runs: int):
    """Median wall and CPU seconds of several runs, and the last result."""
    walls, cpus, result = [], [], None
    for _ in range(runs):
        wall, cpu, result = measured(task)
        walls.append(wall)
        cpus.append(cpu)
    return statistics.median(walls), statistics.median(cpus), result


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=30)
    parser.add_argument("--ballots", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    with bench_app():
        print(f"load average at start: {load()} ({os.cpu_count()} CPUs)")
        started = time.perf_counter()
        session, closing = build_closed_session(args.subjects, args.ballots)
        print(f"session: {args.subjects} subjects, {args.ballots} ballots")
        print(f"  build and close          {time.perf_counter() - started:8.3f} s")
        print(f"  of which close_session   {closing:8.3f} s")
        sign_off(session, session.owner, waive_parts=True)
        results = compute_results(session)
        archive_zip(results)  # warm-up: imports, fpdf2, qrcode, openpyxl
        CJK_GLYPHS.forget()
        cold_wall, cold_cpu, _ = measured(lambda: session_report(results))
        print(f"{'step':<34}{'wall s':>8}{'CPU s':>8}")
        print(f"  {'PDF report, cold':<32}{cold_wall:8.3f}{cold_cpu:8.3f}")
        print(f"median of {args.runs} runs:")
        steps = {
            "compute_results": lambda: compute_results(session),
            "web chart: distribution (SVG)": lambda: distribution_chart(results),
            "web chart: rates (SVG)": lambda: rates_chart(results),
            "PDF report": lambda: session_report(results),
            "PDF report, signed": lambda: sign_pdf(results, session_report(results)),
            "XLSX workbook": lambda: tally_workbook(results),
            "one signed subject sheet": lambda: signed_sheet(results, results.subjects[1]),
            "archive JSON": lambda: archive_bytes(results),
            "archive ZIP (signed)": lambda: archive_zip(results),
        }
        made = {}
        for name, task in steps.items():
            wall, cpu, made[name] = median_times(task, args.runs)
            print(f"  {name:<32}{wall:8.3f}{cpu:8.3f}")
        bundle = made["archive ZIP (signed)"]
        wall, cpu, verdict = median_times(lambda: verify_upload(bundle), args.runs)
        assert verdict.ok, verdict.text
        print(f"  {'verify the ZIP':<32}{wall:8.3f}{cpu:8.3f}")
        print(
            f"sizes: report {len(made['PDF report']) // 1024} KiB, "
            f"workbook {len(made['XLSX workbook']) // 1024} KiB, "
            f"archive JSON {len(made['archive JSON']) // 1024} KiB, ZIP {len(bundle) // 1024} KiB"
        )
        print(f"load average at end: {load()}")


if __name__ == "__main__":
    main()
