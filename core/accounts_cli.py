"""Commands: `flask --app wsgi users create|list|set-name|deactivate|activate|unlock|reset-totp|set-password`
and `flask --app wsgi audit verify`. Every change is audited with the actor "cli"."""
from __future__ import annotations

import sys

import click
from flask import Flask
from sqlalchemy import select

from core.accounts import ROLES, AccountError, User, create_user, end_sessions, find_user, hash_password
from core.accounts import check_real_name  # every case role has a real name: recusal goes by it
from core.audit import record, verify
from core.db import new_session, utcnow
from core.units import Unit

CLI_ACTOR = "cli"


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def _user_or_fail(session, username: str) -> User:
    user = find_user(session, username)
    if user is None:
        raise click.ClickException(f"no user {username!r}")
    return user


def check_unit(session, unit: str) -> None:
    if session.get(Unit, unit) is None:
        known = ", ".join(session.scalars(select(Unit.code).order_by(Unit.sort_order, Unit.code)))
        raise click.ClickException(f"unknown unit {unit!r}: one of {known or '(none loaded: run `flask setup`)'}")


def init_app(app: Flask) -> None:
    @app.cli.group("users")
    def users_group():
        """Staff accounts: create, list, deactivate, unlock, reset TOTP."""

    @users_group.command("create")
    @click.option("--username", required=True)
    @click.option("--unit", required=True, help="Unit code: health, market, medinsure, police, audit, taskforce.")
    @click.option("--role", required=True, help="One of " + ", ".join(ROLES) + ".")
    @click.option("--email", required=True)
    @click.option("--display-name", default="", help="Real name: required for every role but clerk (it keeps "
                  "people off reports about them).")
    @click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
    def create_command(username, unit, role, email, display_name, password_stdin):
        """Create a staff account (password: at least 12 characters)."""
        if role not in ROLES:
            raise click.ClickException(f"unknown role {role!r}: one of {', '.join(ROLES)}")
        try:
            check_real_name(role, display_name)
        except AccountError as exc:
            raise click.ClickException(f"--display-name: {exc}") from exc
        with new_session() as session:
            check_unit(session, unit)
            if find_user(session, username) is not None:
                raise click.ClickException(f"user {username.strip()!r} exists")
            password = read_password(password_stdin)
            if len(password) < 12:
                raise click.ClickException("the password needs at least 12 characters")
            try:
                user = create_user(session, username=username, unit=unit, role=role, email=email,
                                   password=password, display_name=display_name)
            except AccountError as exc:
                raise click.ClickException(str(exc)) from exc
            record(session, "user.created", actor=CLI_ACTOR, username=user.username, unit=unit, role=role,
                   email=user.email, display_name=user.display_name)
            session.commit()
            click.echo(f"created {user.username} ({unit}/{role})"
                       + ("; a second factor (TOTP) is set up at the first login" if user.needs_totp else ""))

    @users_group.command("list")
    def list_command():
        """One line per account; "MISSING" in the real-name column: an account with a case role that sees
        no case and cannot be assigned one until `users set-name` gives it a real name."""
        now = utcnow()
        with new_session() as session:
            users = session.scalars(select(User).order_by(User.unit_code, User.username)).all()
            click.echo(f"{'username':<20} {'unit':<10} {'role':<12} {'active':<6} {'totp':<5} {'locked':<6} "
                       f"{'real name':<12} email")
            missing = 0
            for u in users:
                locked = "yes" if u.locked_until and u.locked_until > now else "no"
                name = "MISSING" if u.lacks_real_name else (u.display_name or "-")
                missing += u.lacks_real_name
                click.echo(f"{u.username:<20} {u.unit_code:<10} {u.role:<12} {'yes' if u.active else 'no':<6} "
                           f"{'yes' if u.totp_confirmed else 'no':<5} {locked:<6} {name:<12} {u.email}")
            if missing:
                click.echo(f"{missing} account(s) without a real name see no case until it is set: "
                           "flask --app wsgi users set-name USERNAME NAME")

    @users_group.command("set-name")
    @click.argument("username")
    @click.argument("name")
    def set_name_command(username, name):
        """Set or correct the real name; the account is recused at once from every case naming it."""
        with new_session() as session:
            user = _user_or_fail(session, username)
            try:
                check_real_name(user.role, name)
            except AccountError as exc:
                raise click.ClickException(str(exc)) from exc
            old, user.display_name = user.display_name, name.strip()[:100]
            record(session, "user.updated", actor=CLI_ACTOR, user_id=user.id, username=user.username,
                   changes={"display_name": [old, user.display_name]})
            session.commit()
            click.echo(f"{user.username}: real name set")

    def _change(username: str, action: str, apply, message: str) -> None:
        with new_session() as session:
            user = _user_or_fail(session, username)
            apply(user)
            record(session, action, actor=CLI_ACTOR, username=user.username)
            session.commit()
            click.echo(f"{user.username}: {message}")

    @users_group.command("deactivate")
    @click.argument("username")
    def deactivate_command(username):
        """Deactivate an account and end its sessions."""
        def apply(user):
            user.active = False
            end_sessions(user)
        _change(username, "user.deactivated", apply, "deactivated, sessions ended")

    @users_group.command("activate")
    @click.argument("username")
    def activate_command(username):
        """Reactivate an account."""
        def apply(user):
            user.active, user.failed_logins, user.locked_until = True, 0, None
        _change(username, "user.reactivated", apply, "active")

    @users_group.command("unlock")
    @click.argument("username")
    def unlock_command(username):
        """Lift a lock after failed logins."""
        def apply(user):
            user.failed_logins, user.locked_until = 0, None
        _change(username, "user.unlocked", apply, "unlocked")

    @users_group.command("reset-totp")
    @click.argument("username")
    def reset_totp_command(username):
        """Forget the second factor (lost phone); the user enrols again at the next login."""
        def apply(user):
            user.totp_secret, user.totp_confirmed = None, False
            end_sessions(user)
        _change(username, "user.totp_reset", apply, "second factor removed, sessions ended")

    @users_group.command("set-password")
    @click.argument("username")
    @click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
    def set_password_command(username, password_stdin):
        """Set a new password (at least 12 characters) and end the user's sessions."""
        password = read_password(password_stdin)
        try:
            hashed = hash_password(password)
        except AccountError as exc:
            raise click.ClickException("the password needs at least 12 characters") from exc

        def apply(user):
            user.password_hash, user.failed_logins, user.locked_until = hashed, 0, None
            end_sessions(user)
        _change(username, "user.password_set", apply, "password set, sessions ended")

    @app.cli.group("audit")
    def audit_group():
        """The hash-chained audit trail."""

    @audit_group.command("verify")
    def verify_command():
        """Check every entry of the chain; exit 1 at the first one that does not fit."""
        with new_session() as session:
            result = verify(session)
        if result.ok:
            click.echo(f"OK: {result.checked} entries")
            return
        click.echo(f"BROKEN at entry {result.first_broken}: {result.problem}")
        sys.exit(1)
