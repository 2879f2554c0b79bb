"""`flask --app app boss ...`: users, tokens, demo data."""
from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from .accounts import create_token, create_user, find_user
from .demo import seed_demo
from .errors import ServiceError
from .orders.counters import recount


def register_cli(app: Flask) -> None:
    group = AppGroup("boss", help="BOSS administration.")

    @group.command("create-user")
    @click.argument("email")
    @click.option("--password", required=True)
    @click.option("--account", "account_name", required=True)
    @click.option("--admin", is_flag=True, default=False)
    def create_user_command(email, password, account_name, admin):
        """Create a user (and its account when new)."""
        try:
            user = create_user(email, password, account_name, admin=admin)
        except ServiceError as exc:
            raise click.ClickException(exc.message("ja")) from None
        click.echo(f"created {user.role} {user.email} in account {user.account.name}")

    @group.command("create-token")
    @click.argument("email")
    @click.option("--name", default="CLI")
    def create_token_command(email, name):
        """Create an API token for a user; the token is printed alone on the last line."""
        user = find_user(email)
        if user is None:
            raise click.ClickException(f"no user {email}")
        token = create_token(user, name)
        click.echo(f"API token for {user.email} (shown once):")
        click.echo(token)

    @group.command("seed-demo")
    def seed_demo_command():
        """Load the demo account, shops, products, mappings and ~200 orders."""
        login = seed_demo()
        click.echo(f"demo data loaded; log in as {login[0]} / {login[1]}")

    @group.command("recount")
    def recount_command():
        """Rebuild the status counters from the orders."""
        recount()
        click.echo("counters rebuilt")

    app.cli.add_command(group)
