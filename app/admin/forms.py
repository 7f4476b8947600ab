from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.fields import SelectChoice

from app.auth.models import Role
from app.validators import MaxChars, NoControlCharacters, OptionalText, one_of

ROLE_LABELS = {
    Role.RESIDENT: _l("Resident"),
    Role.MODERATOR: _l("Moderator"),
    Role.STAFF: _l("Staff"),
    Role.ADMIN: _l("Administrator"),
}


class RoleForm(FlaskForm):
    role = SelectField(
        _l("Role"),
        choices=[SelectChoice(role.value, label) for role, label in ROLE_LABELS.items()],
        validate_choice=False,
        validators=[one_of((r.value for r in Role), _l("Choose a role from the list."))],
    )


class DepartmentForm(FlaskForm):
    department = StringField(
        _l("Department"),
        description=_l(
            "Staff see the answers (personal data) of forms of their own department only; "
            "forms without a department are open to all staff."
        ),
        validators=[OptionalText(), MaxChars(100), NoControlCharacters()],
    )
