"""User administration at /admin/users (admins only): list, create, edit, deactivate and reactivate,
reset the second factor, unlock, set a password. Every change is audited; changes that must end the
user's sessions bump session_version."""
from __future__ import annotations

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import Email, InputRequired, Length, Optional

from core.accounts import ROLES, AccountError, User, create_user, end_sessions, find_user, hash_password
from core.accounts import check_real_name  # every case role has a real name: recusal goes by it
from core.audit import record
from core.db import get_session, utcnow
from core.roles import role_labels, roles_required
from core.units import list_units

bp = Blueprint("admin", __name__, url_prefix="/admin")
ACTIONS = ("deactivate", "reactivate", "reset-totp", "unlock")


class UserForm(FlaskForm):
    username = StringField(_l("User name"), validators=[InputRequired(), Length(max=60)])
    display_name = StringField(_l("Real name"), validators=[Optional(), Length(max=100)])
    unit = SelectField(_l("Unit"), validators=[InputRequired()])
    role = SelectField(_l("Role"), validators=[InputRequired()])
    email = EmailField(_l("Email (for reminders)"), validators=[InputRequired(), Length(max=254),
                                                                 Email(check_deliverability=False)])
    password = PasswordField(_l("Password (at least 12 characters)"), render_kw={"autocomplete": "new-password"})

    def fill_choices(self, session) -> None:
        self.unit.choices = [(u.code, f"{u.name} ({u.code})") for u in list_units(session)]
        labels = role_labels()
        self.role.choices = [(r, labels[r]) for r in ROLES]


def _errors(form: FlaskForm) -> dict[str, str]:
    messages = {"username": _("Enter a user name of at most 60 characters."),
                "email": _("Enter a valid email address."), "unit": _("Choose a unit."),
                "role": _("Choose a role."), "display_name": _("At most 100 characters.")}
    errors = {name: messages.get(name, _("Please check this field.")) for name in form.errors if name != "csrf_token"}
    if "csrf_token" in form.errors:
        errors["form"] = _("This form has expired. Please try again.")
    return errors


def _real_name_error(form: "UserForm") -> dict[str, str]:
    try:
        check_real_name(form.role.data, form.display_name.data)
    except AccountError:
        return {"display_name": _("Handlers, unit heads, coordinators and administrators need their real name "
                                  "(at least two characters): it keeps them off reports about them.")}
    return {}


def _user(session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.get("/users")
@roles_required("admin")
def users():
    session = get_session()
    rows = session.scalars(select(User).order_by(User.active.desc(), User.unit_code, User.username)).all()
    return render_template("admin/users.html", users=rows, now=utcnow(), roles=role_labels())


@bp.route("/users/new", methods=["GET", "POST"])
@roles_required("admin")
def new_user():
    session = get_session()
    form = UserForm()
    form.fill_choices(session)
    errors: dict[str, str] = {}
    if request.method == "POST":
        errors = {} if form.validate_on_submit() else _errors(form)
        if not errors and find_user(session, form.username.data) is not None:
            errors["username"] = _("This user name is taken.")
        if not errors and len(form.password.data or "") < 12:
            errors["password"] = _("A password needs at least 12 characters.")
        if not errors:
            errors = _real_name_error(form)
        if not errors:
            try:
                user = create_user(session, username=form.username.data, unit=form.unit.data, role=form.role.data,
                                   email=form.email.data, password=form.password.data,
                                   display_name=form.display_name.data or "")
            except AccountError:
                errors["form"] = _("The account could not be created. Please check the fields.")
            else:
                record(session, "user.created", actor=current_user._get_current_object(), user_id=user.id,
                       username=user.username, unit=user.unit_code, role=user.role, email=user.email,
                       display_name=user.display_name)
                session.commit()
                flash(_("Account %(name)s created.", name=user.username))
                return redirect(url_for("admin.users"))
        session.rollback()
        return render_template("admin/user_form.html", form=form, errors=errors, user=None), 400
    return render_template("admin/user_form.html", form=form, errors=errors, user=None)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@roles_required("admin")
def edit_user(user_id: int):
    session = get_session()
    user = _user(session, user_id)
    form = UserForm(obj=None if request.method == "POST" else user)
    form.fill_choices(session)
    del form.username  # the user name does not change: it is how people and the audit trail know the account
    if request.method == "GET":
        form.unit.data, form.role.data = user.unit_code, user.role
        form.password.data = ""
        return render_template("admin/user_form.html", form=form, errors={}, user=user, now=utcnow())
    errors = {} if form.validate_on_submit() else _errors(form)
    new_password = form.password.data or ""
    if not errors and new_password and len(new_password) < 12:
        errors["password"] = _("A password needs at least 12 characters.")
    me = current_user._get_current_object()
    if not errors and user.id == me.id and form.role.data != "admin":
        errors["role"] = _("You cannot take the administrator role from yourself.")
    if not errors:
        errors = _real_name_error(form)
    if errors:
        return render_template("admin/user_form.html", form=form, errors=errors, user=user, now=utcnow()), 400
    changes = {}
    for field, attr in (("display_name", "display_name"), ("unit", "unit_code"), ("role", "role"), ("email", "email")):
        value = (getattr(form, field).data or "").strip()
        if value != getattr(user, attr):
            changes[attr] = [getattr(user, attr), value]
            setattr(user, attr, value)
    if changes:
        record(session, "user.updated", actor=me, user_id=user.id, username=user.username, changes=changes)
    if new_password:
        user.password_hash = hash_password(new_password)
        user.failed_logins, user.locked_until = 0, None
        end_sessions(user)
        record(session, "user.password_set", actor=me, user_id=user.id, username=user.username)
    session.commit()
    flash(_("Account %(name)s saved.", name=user.username) if changes or new_password else _("Nothing was changed."))
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/<any(deactivate, reactivate, 'reset-totp', unlock):action>")
@roles_required("admin")
def user_action(user_id: int, action: str):
    session = get_session()
    user = _user(session, user_id)
    me = current_user._get_current_object()
    if action == "deactivate":
        if user.id == me.id:
            flash(_("You cannot deactivate your own account."))
            return redirect(url_for("admin.edit_user", user_id=user.id))
        user.active = False
        end_sessions(user)
        event, message = "user.deactivated", _("Account %(name)s deactivated; its sessions have ended.", name=user.username)
    elif action == "reactivate":
        user.active, user.failed_logins, user.locked_until = True, 0, None
        event, message = "user.reactivated", _("Account %(name)s is active again.", name=user.username)
    elif action == "reset-totp":
        user.totp_secret, user.totp_confirmed = None, False
        end_sessions(user)
        event, message = "user.totp_reset", _("The second factor of %(name)s was removed; the user sets it up again at the next login.", name=user.username)
    else:
        user.failed_logins, user.locked_until = 0, None
        event, message = "user.unlocked", _("Account %(name)s unlocked.", name=user.username)
    record(session, event, actor=me, user_id=user.id, username=user.username)
    session.commit()
    flash(message)
    return redirect(url_for("admin.users"))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
