"""Report how many fuzz examples actually ran, at the end of the test session."""


def pytest_terminal_summary(terminalreporter):
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
