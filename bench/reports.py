"""Time the result reports of a closed 30-subject session with 1,000 ballots.

    /work/venv/bin/python bench/reports.py [--subjects 30] [--ballots 1000] [--runs 5]

Prints the median of several runs for compute_results, each chart, the PDF report, the XLSX
workbook, one signed 廉政档案 sheet, the archive JSON, the signed archive ZIP and its
verification; and, to compare the two ways of putting a chart in a PDF, the time and size of
embedding it as SVG and as PNG.
"""

import argparse
import io
import time

from fpdf import FPDF
from synthetic import bench_app, build_closed_session, median_time

from survey.exports import archive_zip, sign_pdf, signed_sheet
from survey.reports.charts import (
    distribution_chart,
    distribution_figure,
    png,
    rates_chart,
)
from survey.reports.pdf import session_report
from survey.reports.xlsx import tally_workbook
from survey.services.archive import archive_bytes, verify_upload
from survey.services.results import compute_results
from survey.services.signoff import sign_off


def embedded_size(image: bytes) -> tuple[float, int]:
    """Return the seconds and bytes of a one-page PDF holding just this image."""
    started = time.perf_counter()
    pdf = FPDF()
    pdf.add_page()
    pdf.image(io.BytesIO(image), x=10, y=10, w=190)
    data = bytes(pdf.output())
    return time.perf_counter() - started, len(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=30)
    parser.add_argument("--ballots", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    with bench_app():
        started = time.perf_counter()
        session, closing = build_closed_session(args.subjects, args.ballots)
        print(f"session: {args.subjects} subjects, {args.ballots} ballots")
        print(f"  build and close          {time.perf_counter() - started:8.3f} s")
        print(f"  of which close_session   {closing:8.3f} s")
        sign_off(session, session.owner, waive_parts=True)
        # The first call pays for imports, font registration and the font's first load.
        warm = compute_results(session)
        session_report(warm)
        print(f"median of {args.runs} runs (after one warm-up):")
        timings = {}
        seconds, results = median_time(lambda: compute_results(session), args.runs)
        timings["compute_results"] = seconds
        timings["distribution chart (SVG)"], _ = median_time(
            lambda: distribution_chart(results), args.runs
        )
        timings["rates chart (SVG)"], _ = median_time(lambda: rates_chart(results), args.runs)
        timings["PDF report"], report = median_time(lambda: session_report(results), args.runs)
        timings["PDF report, signed"], _ = median_time(
            lambda: sign_pdf(results, session_report(results)), args.runs
        )
        timings["XLSX workbook"], workbook = median_time(lambda: tally_workbook(results), args.runs)
        timings["one subject sheet"], _ = median_time(
            lambda: signed_sheet(results, results.subjects[1]), args.runs
        )
        timings["archive JSON"], archive = median_time(lambda: archive_bytes(results), args.runs)
        timings["archive ZIP"], bundle = median_time(lambda: archive_zip(results), args.runs)
        timings["verify the ZIP"], verdict = median_time(lambda: verify_upload(bundle), args.runs)
        assert verdict.ok, verdict.text
        for name, value in timings.items():
            print(f"  {name:<26}{value:8.3f} s")
        print(
            f"sizes: report {len(report) // 1024} KiB, workbook {len(workbook) // 1024} KiB, "
            f"archive JSON {len(archive) // 1024} KiB, ZIP {len(bundle) // 1024} KiB"
        )

        svg_made, svg = median_time(lambda: distribution_chart(results).encode(), args.runs)
        png_made, bitmap = median_time(lambda: png(distribution_figure(results)), args.runs)
        svg_embed, svg_pdf = embedded_size(svg)
        png_embed, png_pdf = embedded_size(bitmap)
        print("distribution chart in a one-page PDF (fpdf2):")
        print(f"  SVG: draw {svg_made:.3f} s, embed {svg_embed:.3f} s, PDF {svg_pdf // 1024} KiB")
        print(
            f"  PNG 200 dpi: draw {png_made:.3f} s, embed {png_embed:.3f} s, "
            f"PDF {png_pdf // 1024} KiB"
        )


if __name__ == "__main__":
    main()
