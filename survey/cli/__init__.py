"""The `survey` command: this app's Flask CLI with the platform's own commands."""


def register_commands(app) -> None:
    """Add the platform's commands to app.cli, so `survey` and `flask --app survey` agree."""
    from survey.cli.backup import OPS_COMMANDS
    from survey.cli.commands import (
        close_command,
        create_user_command,
        demo_command,
        export_command,
        run_command,
        verify_command,
    )
    from survey.cli.score import score

    commands = (
        run_command,
        create_user_command,
        demo_command,
        close_command,
        score,
        export_command,
        verify_command,
        *OPS_COMMANDS,
    )
    for command in commands:
        app.cli.add_command(command)


def main() -> None:
    """Entry point of the `survey` console script."""
    from flask.cli import FlaskGroup, routes_command, shell_command

    from survey import create_app

    cli = FlaskGroup(create_app=create_app, add_default_commands=False, help="民主测评平台命令行。")
    cli.add_command(shell_command)
    cli.add_command(routes_command)
    cli.main(prog_name="survey")
