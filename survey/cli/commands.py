"""Serving and session commands: run, create-user, demo, close, export, verify."""

import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from survey.cli.boundary import named_session, one_transaction
from survey.extensions import db
from survey.links import vote_url
from survey.models import Role
from survey.security import display_code
from survey.services import ServiceError


def prepare_database() -> tuple[str, str] | None:
    """Bring the schema up to date and create the first administrator if there is none.

    Returns the first administrator's login when this call created it. The transaction is
    committed before returning: a command that goes on to serve must not hold SQLite's
    write lock (every ballot would then wait out the busy timeout and fail).
    """
    from flask_migrate import upgrade

    from survey.services.accounts import ensure_first_admin

    upgrade()
    first = ensure_first_admin()
    db.session.commit()
    db.session.remove()
    if first:
        username, password = first
        click.secho("已创建首个管理员账号（密码只显示这一次，请妥善保存）：", fg="yellow", err=True)
        click.secho(f"  用户名 {username}  密码 {password}", fg="yellow", err=True)
    return first


@click.command("run")
@click.option("--host", default="0.0.0.0", show_default=True, help="监听地址")  # noqa: S104
@click.option("--port", default=5000, show_default=True, type=int, envvar="PORT", help="端口")
@with_appcontext
def run_command(host: str, port: int) -> None:
    """Upgrade the database and serve the platform with gunicorn, as on meeting day."""
    import os
    import sys

    prepare_database()
    click.echo(f"平台地址：{current_app.config['PUBLIC_BASE_URL']}/", err=True)
    # Nothing of this process survives into the server: its app context, connections and
    # any transaction end here, and gunicorn's workers build their own app.
    db.engine.dispose()
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        "python:survey.gunicorn_conf",
        "--bind",
        f"{host}:{port}",
        "survey:create_app()",
    ]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, argv)  # noqa: S606 - a fixed argument list, no shell


@click.command("create-user")
@click.argument("username")
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.ORGANIZER.value)
@click.option("--name", "display_name", default="", help="显示的姓名")
@click.password_option("--password", prompt="密码", confirmation_prompt="再次输入密码")
@one_transaction
def create_user_command(username: str, role: str, display_name: str, password: str) -> None:
    """Add an account (admin, organizer or assessor)."""
    from survey.services.accounts import create_user

    user = create_user(username, password, Role(role), display_name)
    click.echo(f"已创建用户 {user.username}（{user.role.label}）。")


@click.command("demo")
@click.option("--json", "as_json", is_flag=True, help="以JSON输出，供脚本使用")
@click.option("--codes", "codes_per_group", type=click.IntRange(1, 500), default=None)
@one_transaction
def demo_command(as_json: bool, codes_per_group: int | None) -> None:
    """Create an open demo session with codes, and print where to go."""
    from survey.services.demo import create_demo

    first_admin = prepare_database()
    result = create_demo(codes_per_group or current_app.config["DEMO_CODES_PER_GROUP"])
    base = current_app.config["PUBLIC_BASE_URL"]
    payload = {
        "session_id": result.session_id,
        "base_url": base,
        "login_url": f"{base}/login",
        "sessions_url": f"{base}/sessions",
        "code_entry_url": f"{base}/v",
        "organizer": {"username": result.username, "password": result.password},
        "first_admin": (
            {"username": first_admin[0], "password": first_admin[1]} if first_admin else None
        ),
        "codes": [
            {"group": group, "code": display_code(code), "vote_url": vote_url(code)}
            for group, codes in result.codes.items()
            for code in codes
        ],
    }
    if as_json:
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    click.echo(f"演示测评已创建并开始投票（编号 {result.session_id}）。")
    click.echo(f"组织者登录：{payload['login_url']}")
    click.echo(f"  用户名 {result.username}  密码 {result.password}")
    click.echo(f"测评码输入页：{payload['code_entry_url']}")
    click.echo("各测评码的投票地址（用手机打开即可投票）：")
    for row in payload["codes"]:
        click.echo(f"  [{row['group']}] {row['code']}  {row['vote_url']}")


@click.command("close")
@click.argument("session_id", type=int)
@one_transaction
def close_command(session_id: int) -> None:
    """Close an open session, or resume a close left 正在结束: open, shuffle, seal, scrub."""
    from survey.extensions import db
    from survey.models import EvalSession
    from survey.services.sessions import close_session

    session = db.session.get(EvalSession, session_id)
    if session is None:
        click.echo(f"错误：编号为 {session_id} 的测评不存在。", err=True)
        raise SystemExit(1)
    try:
        count = close_session(session, None)
    except ServiceError as error:
        click.echo(f"错误：{error}", err=True)
        raise SystemExit(1) from None
    click.echo(f"测评“{session.title}”（编号 {session.id}）已结束，共收回测评表 {count} 张。")


@click.command("export")
@click.argument("session_id", type=int)
@click.option(
    "--format",
    "kind",
    type=click.Choice(["json", "xlsx", "pdf", "zip"]),
    default="json",
    show_default=True,
    help="json 归档数据；xlsx 统计表；pdf 汇报测评报告；zip 廉政档案结果单",
)
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True), required=True)
@one_transaction
def export_command(session_id: int, kind: str, out: str) -> None:
    """Export a closed session's results (JSON keys as in `survey score --json`, plus the seal)."""
    from survey.exports import build_export
    from survey.services.audit import record
    from survey.services.results import compute_results, require_closed

    session = named_session(session_id)
    require_closed(session)
    data = build_export(compute_results(session), kind)
    Path(out).write_bytes(data)
    record(None, "export", session.id, f"命令行导出 {kind}")
    db.session.commit()
    click.echo(
        f"已导出测评 {session_id} 的 {kind}：{out}（{len(data)} 字节），封存码 {session.seal}",
        err=True,
    )


@click.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--key",
    "keys",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="另外信任的签名公钥（PEM，由 survey keys --export 导出），可重复",
)
@one_transaction
def verify_command(file: str, keys: tuple[str, ...]) -> None:
    """Verify an archive (ZIP, archive.json or a signed sheet PDF): signatures, recount, files."""
    from survey.services.archive import MAX_ARCHIVE_BYTES, instance_trust, verify_upload
    from survey.uploads import size_text

    if Path(file).stat().st_size > MAX_ARCHIVE_BYTES:  # refuse before reading it into memory
        click.echo(f"未通过\n  ✗ 归档文件超过{size_text(MAX_ARCHIVE_BYTES)}的上限，未予校验。")
        raise SystemExit(1)
    trust = instance_trust([Path(k).read_bytes() for k in keys])
    verdict = verify_upload(Path(file).read_bytes(), trust)
    click.echo(verdict.text)
    if not verdict.ok:
        raise SystemExit(1)
