from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField
from wtforms.validators import NumberRange, Optional


class RunForm(FlaskForm):
    k = IntegerField(
        _l("Number of themes"),
        description=_l("Leave empty to let Koe choose (about the cube root of the count)."),
        validators=[
            Optional(),
            NumberRange(2, 10, message=_l("Choose between %(min)s and %(max)s themes.")),
        ],
    )
