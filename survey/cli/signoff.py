"""`survey sign-off`: the assessment team signs off a closed session's results from the shell."""

import click

from survey.cli.boundary import named_session, one_transaction


@click.command("sign-off")
@click.argument("session_id", type=int)
@click.option("--name", "signer", required=True, help="签发人（考核组组长或考核组名称）")
@click.option(
    "--parts-not-applicable",
    "waive_parts",
    is_flag=True,
    help="领导班子其他考核部分不适用（不录入即签发）",
)
@one_transaction
def sign_off_command(session_id: int, signer: str, waive_parts: bool) -> None:
    """Seal and sign every figure of a closed session (the result seal)."""
    from survey.services.signoff import sign_off

    session = named_session(session_id)
    seal = sign_off(session, None, signer=signer, waive_parts=waive_parts)
    click.echo(f"测评“{session.title}”（编号 {session.id}）已签发，结果封存码 {seal}")
