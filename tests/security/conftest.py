"""Report how many fuzz examples ran and what the upload bombs cost, at the end of the run."""


def pytest_terminal_summary(terminalreporter):
    _summarise_peaks(terminalreporter)
    runs = {}
    for reports in terminalreporter.stats.values():
        for report in reports:
            for key, value in getattr(report, "user_properties", ()):
                if key == "fuzz_examples" and getattr(report, "when", "") == "call":
                    name, count = value
                    runs[name] = count
    if not runs:
        return
    terminalreporter.section("fuzzing")
    for name, count in runs.items():
        terminalreporter.write_line(f"{count:>7,} generated requests: {name}")
    terminalreporter.write_line(f"{sum(runs.values()):>7,} in all")


def _summarise_peaks(terminalreporter):
    peaks = {}
    for reports in terminalreporter.stats.values():
        for report in reports:
            for key, value in getattr(report, "user_properties", ()):
                if key == "peak_memory" and getattr(report, "when", "") == "call":
                    name, peak, baseline = value
                    peaks[name] = (peak, baseline)
    if not peaks:
        return
    terminalreporter.section("upload bombs: gunicorn worker peak memory (VmHWM)")
    for name, (peak, baseline) in peaks.items():
        terminalreporter.write_line(
            f"{peak / 2**20:>7.1f} MB peak (from {baseline / 2**20:.1f} MB): {name}"
        )
