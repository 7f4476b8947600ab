"""One pattern for irreversible actions: the first POST shows what will happen; only a POST
that says ``confirm=yes`` acts.

The view loads and authorises as usual, then::

    page = confirm.ask(
        title=_("Withdraw this opinion?"),
        consequence=_("It leaves the public list; this cannot be undone."),
        button=_("Withdraw the opinion"),
        cancel_url=url_for("consultations.my_voice"),
    )
    if page is not None:
        return page
    ... act ...

The confirmation page is a plain form (CSRF token, the first POST's fields carried over,
a confirm button and a cancel link), so it works without JavaScript. A form may ask for the
confirmation in place (a ticked ``confirm`` box with the value ``yes``) and skip the page.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import render_template, request, url_for

FIELD = "confirm"
YES = "yes"


def confirmed() -> bool:
    """Whether this POST carries the confirmation."""
    return request.method == "POST" and request.form.get(FIELD) == YES


def ask(
    *,
    title: str,
    consequence: str,
    button: str,
    cancel_url: str,
    details: Iterable[str] = (),
    danger: bool = True,
):
    """Return the confirmation page for this POST, or None when it is already confirmed."""
    if confirmed():
        return None
    carried = [
        (name, value)
        for name, values in request.form.lists()
        if name not in ("csrf_token", FIELD)
        for value in values
    ]
    return render_template(
        "confirm.html",
        title=title,
        consequence=consequence,
        button=button,
        cancel_url=cancel_url,
        details=list(details),
        danger=danger,
        action=url_for(request.endpoint, **(request.view_args or {})),
        carried=carried,
        field=FIELD,
        yes=YES,
    )
