"""The audit log speaks Chinese: every action the code records has a Chinese name."""

import re
from pathlib import Path

from survey.services.audit import ACTION_LABELS, action_label
from survey.services.paper import PaperOutcome

SOURCE = Path(__file__).resolve().parents[2] / "survey"
# record(actor, "action", …) and record_download(…) as written anywhere in survey/.
RECORDED = re.compile(r"\brecord\(\s*[\w.]+\s*,\s*(f?)\"([^\"]+)\"", re.S)


def recorded_actions() -> set[str]:
    actions = {"download"}  # record_download writes this one
    for path in SOURCE.rglob("*.py"):
        for is_f, action in RECORDED.findall(path.read_text(encoding="utf-8")):
            if is_f and action == "paper_entry_{outcome}":
                actions |= {f"paper_entry_{outcome}" for outcome in PaperOutcome}
            else:
                assert not is_f, f"{path}: an audit action built at run time: {action}"
                actions.add(action)
    return actions


def test_every_recorded_action_has_a_chinese_name():
    actions = recorded_actions()
    assert len(actions) > 40  # the scan found the calls
    missing = sorted(a for a in actions if a not in ACTION_LABELS)
    assert not missing, f"audit actions without a Chinese name: {missing}"
    for action in actions:
        label = action_label(action)
        assert re.search(r"[\u4e00-\u9fff]", label) and not re.search(r"[A-Za-z]", label), label


def test_an_unknown_action_still_reads_as_chinese_first():
    assert action_label("something_new").startswith("其他操作")
