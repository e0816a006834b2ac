"""The ``clio-xero`` command line. Sub-apps live in sibling modules; this module only assembles them."""

from __future__ import annotations

import typer

from clio_xero_tools.cli import billing, connect, console, contacts, ops, report, trust
from clio_xero_tools.cli.local import local_app
from clio_xero_tools.cli.sandbox import sandbox_app

app = typer.Typer(
    name="clio-xero",
    help=(
        "Self-hosted Clio Manage <-> Xero sync.\n\n"
        "Run the whole stack on this machine with `clio-xero local up`, the API sandboxes with "
        "`clio-xero sandbox up`, and a scripted end-to-end demo with `clio-xero demo`."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
app.add_typer(local_app, name="local")
app.add_typer(sandbox_app, name="sandbox")
for module in (connect, contacts, billing, ops, report, trust, console):
    module.register(app)


@app.command()
def demo(
    template: str = typer.Option("template.yaml", help="SAM template to run."),
) -> None:
    """Run the scripted end-to-end demo on the local runtime and exit (0 = every check passed)."""
    from pathlib import Path

    from clio_xero_tools.demo import run_demo

    raise typer.Exit(0 if run_demo(Path(template)) else 1)


def main() -> None:
    app()
