"""Forms for registration, log-in and credentials."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, InputRequired, Length, ValidationError

from app.action_form import ActionForm  # noqa: F401  (where the features import it from)
from app.auth.passwords import MAX_LENGTH, password_problem
from app.moderation.validators import Moderated
from app.validators import NoControlCharacters, NotBlank, nfkc_strip


def email_field(label=None):
    return EmailField(
        label or _l("E-mail address"),
        filters=[nfkc_strip],
        validators=[
            DataRequired(_l("Enter your e-mail address.")),
            Length(max=254, message=_l("Use at most %(max)d characters.")),
            Email(_l("Enter an e-mail address like name@example.jp."), granular_message=False),
        ],
        render_kw={"autocomplete": "email", "spellcheck": "false"},
    )


def display_name_field():
    return StringField(
        _l("Display name"),
        description=_l("Shown next to what you post. It need not be your real name."),
        validators=[
            NotBlank(_l("Enter a display name.")),
            Length(max=50, message=_l("Use at most %(max)d characters.")),
            NoControlCharacters(),
            Moderated(),
        ],
        render_kw={"autocomplete": "nickname"},
    )


def new_password_field(label=None):
    return PasswordField(
        label or _l("Password"),
        description=_l("At least 8 characters. A few unrelated words make a strong password."),
        validators=[InputRequired(_l("Enter a password."))],
        render_kw={"autocomplete": "new-password", "maxlength": MAX_LENGTH},
    )


def current_password_field():
    return PasswordField(
        _l("Current password"),
        validators=[InputRequired(_l("Enter your current password."))],
        render_kw={"autocomplete": "current-password"},
    )


def check_new_password(field, email: str, display_name: str) -> None:
    problem = password_problem(field.data or "", email=email, display_name=display_name)
    if problem:
        raise ValidationError(problem)


class _NewPasswordForm(FlaskForm):
    """A form that sets ``password`` for an existing ``user``."""

    def __init__(self, *args, user=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def validate_password(self, field) -> None:
        check_new_password(field, self.user.email, self.user.display_name)


class RegisterForm(FlaskForm):
    display_name = display_name_field()
    email = email_field()
    password = new_password_field()
    agree = BooleanField(
        _l("I agree to the terms of use and the privacy policy."),
        description=_l("Both are linked at the bottom of every page."),
        validators=[DataRequired(_l("You need to agree to register."))],
    )

    def validate_password(self, field) -> None:
        check_new_password(field, self.email.data or "", self.display_name.data or "")


class LoginForm(FlaskForm):
    email = email_field()
    password = PasswordField(
        _l("Password"),
        validators=[InputRequired(_l("Enter your password."))],
        render_kw={"autocomplete": "current-password"},
    )


class ResetRequestForm(FlaskForm):
    email = email_field()


class ResetPasswordForm(_NewPasswordForm):
    password = new_password_field(_l("New password"))


class ChangePasswordForm(_NewPasswordForm):
    current_password = current_password_field()
    password = new_password_field(_l("New password"))


class ChangeEmailForm(FlaskForm):
    email = email_field(_l("New e-mail address"))
    current_password = current_password_field()


class DeleteAccountForm(FlaskForm):
    current_password = current_password_field()
    confirm = BooleanField(
        _l("I understand that my account and personal data will be deleted."),
        validators=[DataRequired(_l("Tick the box to confirm."))],
    )
