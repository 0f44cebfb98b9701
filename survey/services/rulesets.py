"""Rule sets: the shipped files plus versions a unit uploaded, never replaced once stored."""

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from survey.clock import in_beijing
from survey.domain import RuleFileError, RuleSet, parse_ruleset, shipped_rulesets
from survey.domain.rulesets import version_key
from survey.extensions import db
from survey.models import RuleSetRecord, User
from survey.services import NotFound, ServiceError
from survey.services.audit import record
from survey.uploads import check_toml_nesting

MAX_RULESET_BYTES = 256 * 1024
# China has no daylight saving time, so a fixed offset is exact.

# Column widths of RuleSetRecord; the parser itself sets no length limit.
_KEY_MAX, _VERSION_MAX, _NAME_MAX = 64, 32, 200


@dataclass(frozen=True)
class RuleSetEntry:
    """A rule set with where it came from: shipped with the platform or uploaded by an admin."""

    ruleset: RuleSet
    shipped: bool
    uploaded_by: str | None = None
    uploaded_at: datetime | None = None

    @property
    def text(self) -> str:
        """Return the file's exact text."""
        return self.ruleset.content.decode("utf-8")

    @property
    def filename(self) -> str:
        """Return the name a download of the file gets."""
        return f"{self.ruleset.id}-{self.ruleset.version}.toml"

    @property
    def uploaded_at_local(self) -> datetime | None:
        """Return the upload time in Beijing time."""
        if self.uploaded_at is None:
            return None
        return in_beijing(self.uploaded_at)


def ruleset_entries() -> list[RuleSetEntry]:
    """Return every shipped and uploaded rule set, sorted by id then version."""
    entries = [RuleSetEntry(ruleset, shipped=True) for ruleset in shipped_rulesets()]
    records = db.session.scalars(sa.select(RuleSetRecord))
    entries.extend(_entry_from(r) for r in records)
    entries.sort(key=lambda e: (e.ruleset.id, version_key(e.ruleset.version), not e.shipped))
    return entries


def available_rulesets() -> list[RuleSet]:
    """Return every shipped and uploaded rule set, sorted by id then version."""
    return [entry.ruleset for entry in ruleset_entries()]


def ruleset_entry(key: str, version: str) -> RuleSetEntry:
    """Return one rule set with its origin: shipped first, else uploaded; NotFound if neither."""
    stored = _record(key, version)
    for ruleset in shipped_rulesets():
        if ruleset.id == key and ruleset.version == version:
            if stored is not None and stored.sha256 != ruleset.sha256:
                raise ServiceError(
                    f"规则集 {key} 版本 {version} 既有内置文件又有内容不同的上传文件，"
                    "无法确定测评使用的是哪一个，请联系系统管理员核对。"
                )
            return RuleSetEntry(ruleset, shipped=True)
    if stored is None:
        raise NotFound(f"找不到规则集 {key} 版本 {version}。")
    return _entry_from(stored)


def ruleset_for(key: str, version: str) -> RuleSet:
    """Return the rule set a session names: shipped first, else uploaded; NotFound if neither."""
    return ruleset_entry(key, version).ruleset


def upload_ruleset(data: bytes, filename: str, actor: User | None) -> RuleSet:
    """Validate and store a new rule set version verbatim; refuse one that already exists."""
    source = _display_name(filename)
    if len(data) > MAX_RULESET_BYTES:
        raise ServiceError(
            f"{source}：文件大小 {len(data) // 1024} KB，超过上限 {MAX_RULESET_BYTES // 1024} KB。"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ServiceError(
            f"{source}：文件不是 UTF-8 编码（第 {exc.start + 1} 个字节起无法识别）。"
            "请在编辑器中以“UTF-8”编码另存后重新上传。"
        ) from None
    check_toml_nesting(text, what=f"{source}：规则集文件")
    try:
        ruleset = parse_ruleset(data, source)
    except RuleFileError as exc:
        raise ServiceError(str(exc)) from None
    for value, limit, label in (
        (ruleset.id, _KEY_MAX, "id"),
        (ruleset.version, _VERSION_MAX, "version"),
        (ruleset.name, _NAME_MAX, "name"),
    ):
        if len(value) > limit:
            raise ServiceError(f"{source} 规则集信息 [ruleset]：{label} 不能超过 {limit} 个字符。")
    if _exists(ruleset.id, ruleset.version):
        raise _already_exists(ruleset)
    db.session.add(
        RuleSetRecord(
            key=ruleset.id,
            version=ruleset.version,
            name=ruleset.name,
            sha256=ruleset.sha256,
            content=text,
            uploaded_by_id=actor.id if actor else None,
        )
    )
    record(
        actor,
        "upload_ruleset",
        detail=f"{ruleset.id} 版本 {ruleset.version}（{source}，SHA-256 {ruleset.sha256}）",
    )
    try:
        db.session.flush()
    except IntegrityError:
        # Another admin stored the same id and version a moment earlier.
        db.session.rollback()
        raise _already_exists(ruleset) from None
    return ruleset


def _already_exists(ruleset: RuleSet) -> ServiceError:
    return ServiceError(
        f"规则集 {ruleset.id} 版本 {ruleset.version} 已存在，不能覆盖"
        "（已按该版本计分的测评必须保持不变）。请在文件的 [ruleset] 中提高 version 后重新上传。"
    )


def _exists(key: str, version: str) -> bool:
    if any(r.id == key and r.version == version for r in shipped_rulesets()):
        return True
    return _record(key, version) is not None


def _record(key: str, version: str) -> RuleSetRecord | None:
    return db.session.scalar(
        sa.select(RuleSetRecord).where(RuleSetRecord.key == key, RuleSetRecord.version == version)
    )


def _entry_from(stored: RuleSetRecord) -> RuleSetEntry:
    """Parse a stored file again and check it is still the exact file that was uploaded."""
    source = f"{stored.key}-{stored.version}.toml"
    content = stored.content.encode("utf-8")
    if hashlib.sha256(content).hexdigest() != stored.sha256:
        raise ServiceError(
            f"规则集 {stored.key} 版本 {stored.version} 的内容与上传时的 SHA-256 不符，"
            "可能已被改动，请联系系统管理员核对。"
        )
    try:
        ruleset = parse_ruleset(content, source)
    except RuleFileError as exc:
        raise ServiceError(f"已保存的规则集无法读取：{exc}") from None
    if (ruleset.id, ruleset.version) != (stored.key, stored.version):
        raise ServiceError(
            f"规则集 {stored.key} 版本 {stored.version} 的文件内容写的是"
            f" {ruleset.id} 版本 {ruleset.version}，请联系系统管理员核对。"
        )
    uploader = db.session.get(User, stored.uploaded_by_id) if stored.uploaded_by_id else None
    return RuleSetEntry(
        ruleset,
        shipped=False,
        uploaded_by=uploader.display_name if uploader else None,
        uploaded_at=stored.created_at,
    )


def _display_name(filename: str) -> str:
    """Keep only the file's own name, without any folders a browser sent along."""
    name = PurePosixPath((filename or "").replace("\\", "/")).name.strip()
    return name[:100] or "上传的文件"
