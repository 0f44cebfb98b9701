"""`survey keys`: the instance's signing key, for the archive office.

The archive office keeps the exported public key (or at least its fingerprint) apart from
the archives, and checks that the fingerprint printed on the papers is this one.
"""

from pathlib import Path

import click

from survey.cli.boundary import one_transaction


@click.command("keys")
@click.option(
    "--export",
    "export_to",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="把公钥（PEM）写入此文件；写 - 输出到屏幕",
)
@one_transaction
def keys_command(export_to: str | None) -> None:
    """Show the signing key's fingerprint; export the public key (PEM)."""
    from survey.services.signing import instance_fingerprint, key_path, public_pem

    pem = public_pem()
    click.echo(f"签名公钥指纹（SHA-256）：{instance_fingerprint()}")
    click.echo(f"私钥文件：{key_path()}（仅所有者可读，请备份并妥善保管）")
    if export_to == "-":
        click.echo(pem.decode(), nl=False)
    elif export_to:
        Path(export_to).write_bytes(pem)
        click.echo(f"公钥已导出到 {export_to}")
