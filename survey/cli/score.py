"""`survey score FILE`: score a meeting counted on paper, without the web app."""

import json
import unicodedata
from fractions import Fraction
from pathlib import Path

import click

from survey.cli.scorefile import ScoreFileError, read_score_file
from survey.domain import (
    DEFAULT_RULESET_ID,
    RuleFileError,
    RuleSet,
    RuleSetNotFound,
    ScoreInputError,
    SubjectResult,
    SubjectRole,
    SubjectVotes,
    format_decimal,
    format_percent,
    get_shipped,
    load_ruleset,
    parse_decimal,
    score_meeting,
)

EXIT_BAD_INPUT = 2


class ScoreCommandError(click.ClickException):
    """A bad input file or option; print the Chinese message to stderr and exit 2."""

    exit_code = EXIT_BAD_INPUT

    def show(self, file=None) -> None:
        click.echo(f"错误:{self.message}", err=True)


def _resolve_rules(spec: str) -> RuleSet:
    if spec.endswith(".toml") or Path(spec).is_file():
        return load_ruleset(spec)
    ruleset_id, _, version = spec.partition(":")
    return get_shipped(ruleset_id, version or None)


def _parse_team_other(text: str, ruleset: RuleSet) -> Fraction:
    try:
        value = parse_decimal(text)
    except ValueError:
        raise ScoreCommandError(f"--team-other “{text}” 不是有效的数(如 72 或 65.5)") from None
    maximum = ruleset.team_parts.other_maximum
    if not 0 <= value <= maximum:
        raise ScoreCommandError(
            f"--team-other {text} 超出范围:其他四项得分应在 0 到 {format_decimal(maximum)} 之间"
        )
    return value


def _decimal_or_none(value: Fraction | None) -> str | None:
    return None if value is None else format_decimal(value)


def _as_json(result: SubjectResult) -> dict[str, object]:
    return {
        "subject": result.subject,
        "category": result.role.label,
        "valid": result.counts.valid,
        "good_or_better": result.counts.good_or_better,
        "rate": result.counts.rate_text,
        "points": _decimal_or_none(result.points),
        "deduction": _decimal_or_none(result.deduction),
        "personal": _decimal_or_none(result.personal),
        "final": _decimal_or_none(result.final),
    }


def _percent(share: Fraction) -> str:
    return f"{format_decimal(share * 100)}%"


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, right: bool) -> str:
    fill = " " * (width - _width(text))
    return fill + text if right else text + fill


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(_width(row[i]) for row in [header, *rows]) for i in range(len(header))]
    # Text columns (subject, category) left-aligned, numbers right-aligned.
    lines = []
    for row in [header, *rows]:
        cells = [_pad(cell, widths[i], right=i >= 2) for i, cell in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def _as_text(results: list[SubjectResult], ruleset: RuleSet, team_other: Fraction | None) -> str:
    dash = "—"
    header = [
        "测评对象",
        "类别",
        "有效票",
        "较好以上",
        "较好以上率",
        "票数比",
        "民主测评得分",
        "扣分",
        "个人得分",
        "最终得分",
    ]
    rows = []
    for r in results:
        rows.append(
            [
                r.subject,
                r.role.label,
                str(r.counts.valid),
                str(r.counts.good_or_better),
                format_percent(r.rate) if r.rate is not None else "无有效票",
                r.counts.rate_text or dash,
                *(
                    format_decimal(v) if v is not None else dash
                    for v in (r.points, r.deduction, r.personal, r.final)
                ),
            ]
        )
    lines = _table(header, rows)
    lines.append("")
    weights = ruleset.final_weights
    team = next((r for r in results if r.role is SubjectRole.TEAM), None)
    if team_other is None:
        lines.append("未给出 --team-other(领导班子其他四项得分),不计算最终得分。")
    elif team is not None and team.rate is None:
        lines.append("领导班子没有有效票,无法计算最终得分。")
    else:
        parts = ruleset.team_parts
        scale = f"{format_decimal(parts.scaled_total)}/{format_decimal(parts.total)}"
        lines.append(
            f"领导班子最终得分 = (民主测评得分 + 其他四项 {format_decimal(team_other)} 分)× {scale}"
        )
        for role, share in (
            (SubjectRole.PRINCIPAL, weights.principal),
            (SubjectRole.MEMBER, weights.member),
        ):
            lines.append(
                f"{role.label}最终得分 = 个人得分 × {_percent(share)}"
                f" + 领导班子十分制得分 × {_percent(1 - share)}"
            )
    lines.append("较好以上率 = (好 + 较好)÷ 有效票(弃权不计),按精确分数分档;")
    lines.append("百分比四舍五入到两位小数,仅供显示。")
    lines.append(f"规则集:{ruleset.label}")
    lines.append(f"SHA-256:{ruleset.sha256}")
    return "\n".join(lines)


@click.command("score")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="以 JSON 列表输出。")
@click.option(
    "--team-other",
    metavar="POINTS",
    help="领导班子其他四项(作风建设、惩治腐败、预防腐败、责任制落实)得分合计,0–80;给出时计算最终得分。",
)
@click.option(
    "--rules",
    "rules_spec",
    default=DEFAULT_RULESET_ID,
    show_default=True,
    metavar="ID[:VERSION]",
    help="规则集编号(可带版本),或规则集 .toml 文件路径。",
)
def score(file: Path, as_json: bool, team_other: str | None, rules_spec: str) -> None:
    """计算纸质计票的民主测评结果:较好以上率、得分与最终得分。

    \b
    FILE:CSV(UTF-8 或 GB18030)或 XLSX,第一行为表头:
    测评对象、类别(领导班子/主要负责人/班子成员)、好、较好、一般、差,可选 弃权。
    """
    # Everything is computed before anything is printed, so a bad input leaves stdout empty.
    try:
        ruleset = _resolve_rules(rules_spec)
    except (RuleFileError, RuleSetNotFound) as exc:
        raise ScoreCommandError(str(exc)) from None
    missing = [
        title
        for attribute, title in (
            ("team_points", "领导班子民主测评得分分档"),
            ("personal_deduction", "个人民主测评扣分分档"),
            ("final_weights", "最终得分权重"),
            ("team_parts", "领导班子考核项目"),
        )
        if getattr(ruleset, attribute) is None
    ]
    if missing:
        raise ScoreCommandError(
            f"规则集 {ruleset.id}:{ruleset.version} 缺少{'、'.join(missing)},不能用于 score"
        )
    if ruleset.rater_group_weights:
        raise ScoreCommandError(
            f"规则集 {ruleset.id}:{ruleset.version} 按参评人员类别加权,计票表没有类别票数"
        )
    other = None if team_other is None else _parse_team_other(team_other, ruleset)
    try:
        rows = read_score_file(file)
    except ScoreFileError as exc:
        raise ScoreCommandError(str(exc)) from None
    if other is not None and not any(row.role is SubjectRole.TEAM for row in rows):
        raise ScoreCommandError("给出了 --team-other,但文件中没有 “领导班子” 行,无法计算最终得分")
    try:
        results = score_meeting(
            ruleset, [SubjectVotes(row.subject, row.role, row.counts) for row in rows], other
        )
    except ScoreInputError as exc:
        raise ScoreCommandError(str(exc)) from None
    if as_json:
        click.echo(json.dumps([_as_json(r) for r in results], ensure_ascii=False, indent=2))
    else:
        click.echo(_as_text(results, ruleset, other))
