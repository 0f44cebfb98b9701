"""Exceptions raised by the domain, with messages in Chinese for end users."""

import errno

# The operating system words its errors in English; users get these instead.
_OS_ERRORS = {
    errno.ENOENT: "文件不存在",
    errno.EACCES: "没有读取该文件的权限",
    errno.EPERM: "没有读取该文件的权限",
    errno.EISDIR: "这是一个文件夹，不是文件",
    errno.ENOTDIR: "路径中有一部分不是文件夹",
    errno.ENAMETOOLONG: "文件名过长",
    errno.ELOOP: "路径中的符号链接过多",
}


def os_error_text(exc: OSError) -> str:
    """Return a Chinese reason for a failed file read (never the OS's English message)."""
    return _OS_ERRORS.get(exc.errno, f"读取文件时发生系统错误(错误码 {exc.errno})")


SECTION_TITLES: dict[str, str] = {
    "ruleset": "规则集信息",
    "team_points": "领导班子民主测评得分分档",
    "personal_deduction": "个人民主测评扣分分档",
    "final_weights": "最终得分权重",
    "team_parts": "领导班子考核项目",
    "rater_group_weights": "参评人员类别权重",
    "grades": "考评等次分档",
    "combined": "综合得分的组成",
    "rate_grades": "比率评定分档",
}


class RuleFileError(ValueError):
    """A rule file (or a band table built from rows) is malformed."""

    def __init__(
        self,
        source: str,
        detail: str,
        *,
        section: str | None = None,
        row: int | str | None = None,
    ) -> None:
        self.source = source
        self.detail = detail
        self.section = section
        self.row = row
        super().__init__(self._message())

    def _message(self) -> str:
        where = self.source
        if self.section:
            where += f" {SECTION_TITLES.get(self.section, self.section)} [{self.section}]"
        if isinstance(self.row, int):
            where += f" 第{self.row}行"
        elif self.row:
            where += f" “{self.row}”"
        return f"{where}:{self.detail}"


class RuleSetNotFound(LookupError):
    """No shipped rule set has the requested id and version."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "找不到规则集"


class ScoreInputError(ValueError):
    """Scores or votes handed to the engine are out of range or inconsistent."""
