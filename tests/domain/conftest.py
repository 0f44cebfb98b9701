"""Fixtures for the pure domain tests: the shipped rule sets and a rule-file builder."""

import pytest

from survey.domain import RuleSet, get_shipped

VALID_RULES = """\
[ruleset]
id = "test-unit"
version = "1"
name = "测试单位"

[team_points]
bands = [
  { low = "0%",  high = "60%",  value = "0" },
  { low = "60%", high = "90%",  value = "10" },
  { low = "90%", high = "100%", value = "20" },
]

[personal_deduction]
full_score = "10"
bands = [
  { low = "0%",  high = "90%",  value = "2" },
  { low = "90%", high = "100%", value = "0" },
]

[final_weights]
principal = { personal = "50%", team = "50%" }
member = { personal = "70%", team = "30%" }

[team_parts]
total = "100"
scaled_total = "10"
parts = [
  { key = "survey", name = "民主测评", max = "20" },
  { key = "other", name = "其他", max = "80" },
]
"""


@pytest.fixture(scope="session")
def langfang() -> RuleSet:
    """Return the shipped seed-002 rule set."""
    return get_shipped("langfang-2014", "1")


@pytest.fixture(scope="session")
def risk_grades() -> RuleSet:
    """Return the shipped seed-003 grade rule set."""
    return get_shipped("integrity-risk-grades", "1")


@pytest.fixture
def valid_rules_text() -> str:
    """Return a small valid rule file that tests break one line at a time."""
    return VALID_RULES
