from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField
from wtforms.fields import SelectChoice
from wtforms.validators import NumberRange, Optional

from app.consultations.review_forms import SelectedOpinions
from app.themes.editing import LABEL_MAX
from app.validators import MaxChars, NoControlCharacters, NotBlank, one_of


class RunForm(FlaskForm):
    k = IntegerField(
        _l("Number of themes"),
        description=_l("Leave empty to let Koe choose (about the cube root of the count)."),
        validators=[
            Optional(),
            NumberRange(2, 10, message=_l("Choose between %(min)s and %(max)s themes.")),
        ],
    )


class RenameForm(FlaskForm):
    label = StringField(
        _l("Name of the theme"),
        validators=[NotBlank(), MaxChars(LABEL_MAX), NoControlCharacters()],
    )
    pinned = BooleanField(
        _l("Keep this name when the opinions are grouped again"),
        description=_l("Otherwise the next grouping names the theme from its keywords."),
    )


def _themes_choice(field: SelectField, themes) -> None:
    """The other themes, numbered as on the themes page; anything else is refused."""
    field.choices = [SelectChoice(str(t.id), f"{n}. {t.shown_label}") for n, t in themes]
    field.validate_choice = False
    field.validators = [one_of([str(t.id) for _, t in themes])]


class MergeForm(FlaskForm):
    into = SelectField(_l("Merge into"))

    def __init__(self, *args, themes=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _themes_choice(self.into, themes)


class SplitForm(FlaskForm):
    """A button: split the theme into its finer themes."""


class MoveForm(FlaskForm):
    opinions = SelectedOpinions(_l("Opinions"), coerce=int, validate_choice=False)
    target = SelectField(_l("Move the ticked opinions to"))

    def __init__(self, *args, themes=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _themes_choice(self.target, themes)


class PublicForm(FlaskForm):
    themes_public = BooleanField(
        _l("Show the themes to residents while the consultation is open"),
        description=_l(
            "Residents then see a “What others are saying” page: the themes, their size and "
            "published opinions only. After the results are published the themes are shown "
            "with them in any case."
        ),
    )
