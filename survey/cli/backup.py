"""`survey backup PATH` and `survey restore PATH`: the database to one file and back."""

import click

from survey.cli.boundary import one_transaction
from survey.services.backup import backup, engine_name, restore


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
@one_transaction
def backup_command(path: str) -> None:
    """Write a consistent backup of the whole database to PATH (safe while serving)."""
    written = backup(path)
    size = written.stat().st_size
    click.echo(f"已备份{engine_label()}数据库到 {written}（{size / 1024:.0f} KB）。")
    click.echo("提示：备份不含测评码密钥（instance/ballot_code_key），请另行妥善保管实例文件夹。")


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, readable=True))
@click.option("--yes", is_flag=True, help="不再询问，直接恢复")
@one_transaction
def restore_command(path: str, yes: bool) -> None:
    """Replace the whole database with the backup in PATH (stop the app servers first)."""
    if not yes:
        click.confirm(
            f"恢复将用 {path} 替换{engine_label()}数据库中的全部数据，之后的改动都会丢失。确定吗？",
            abort=True,
        )
    restore(path)
    click.echo(f"已从 {path} 恢复{engine_label()}数据库。")


def engine_label() -> str:
    return {"sqlite": "SQLite", "postgresql": "PostgreSQL"}.get(engine_name(), engine_name())


OPS_COMMANDS = (backup_command, restore_command)
