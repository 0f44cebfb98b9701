"""The audit log of organizer, assessor and administrator actions, and its Chinese names."""

from survey.extensions import db
from survey.models import AuditEntry, User

# Every action the platform records, as the audit pages show it. A test checks that each
# action written anywhere in survey/ has a name here, so no page shows a bare English word.
ACTION_LABELS = {
    "create_session": "创建测评",
    "copy_session": "复制测评",
    "update_session": "修改测评信息",
    "open_session": "开始测评",
    "begin_close": "开始结束测评",
    "close_session": "结束测评",
    "add_group": "添加参评人员类别",
    "update_group": "修改参评人员类别",
    "delete_group": "删除参评人员类别",
    "add_subject": "添加测评对象",
    "update_subject": "修改测评对象",
    "delete_subject": "删除测评对象",
    "move_subject": "调整测评对象顺序",
    "import_roster": "导入测评对象名单",
    "upload_report": "上传述职报告",
    "delete_report": "删除述职报告",
    "use_questionnaire": "选用测评表",
    "update_questionnaire": "修改测评表文字",
    "issue_codes": "发放测评码",
    "void_codes": "作废测评码",
    "download_cards": "下载测评码卡片",
    "download": "下载文件",
    "export": "命令行导出",
    "set_team_parts": "录入领导班子其他考核部分得分",
    "paper_entry_first": "录入纸质测评表（第一遍）",
    "paper_entry_mismatch": "录入纸质测评表（两遍不一致）",
    "paper_entry_counted": "纸质测评表两遍一致并计入",
    "paper_ballot_counted": "纸质测评表两遍一致并计入",
    "paper_entry_discarded": "作废不一致的纸质录入",
    "choose_inquiries": "选择投屏质询",
    "inquiry_mode": "设置质询方式",
    "inquiry_answer": "登记质询答复",
    "add_rectification": "登记整改事项",
    "rectification_report": "登记整改情况",
    "grant_session": "授权访问测评",
    "revoke_session": "取消测评授权",
    "create_user": "创建账号",
    "reset_password": "重置账号密码",
    "disable_user": "停用账号",
    "enable_user": "启用账号",
    "change_role": "更改账号角色",
    "rename_user": "更改账号姓名",
    "upload_ruleset": "上传规则集",
    "create_season": "创建考核年度",
    "update_season": "修改考核年度",
    "grant_season": "授权访问考核年度",
    "revoke_season": "取消考核年度授权",
    "add_season_unit": "添加考核单位",
    "update_season_unit": "修改考核单位",
    "delete_season_unit": "删除考核单位",
    "link_season_session": "关联测评到考核年度",
    "unlink_season_session": "取消关联测评",
    "enter_season_facts": "录入考核事实",
    "apply_season_points": "写入考核年度得分",
    "sign_off": "考核组签发结果",
    "set_group_weights": "设置参评人员类别权重",
}


def action_label(action: str) -> str:
    """Return the Chinese name of a recorded action; an unknown one says so in Chinese."""
    return ACTION_LABELS.get(action, f"其他操作（{action}）")


def record(user: User | None, action: str, session_id: int | None = None, detail: str = "") -> None:
    """Add an entry to the current transaction; the caller's commit makes it permanent."""
    db.session.add(
        AuditEntry(
            user_id=user.id if user else None, session_id=session_id, action=action, detail=detail
        )
    )


def record_download(user: User | None, session_id: int, what: str) -> None:
    """Log a download made by a read-only (GET) request, in a write transaction of its own."""
    from survey.extensions import write_intent

    db.session.commit()  # end the read transaction the request began
    token = write_intent.set(True)
    try:
        record(user, "download", session_id, what)
        db.session.commit()
    finally:
        write_intent.reset(token)
