"""Read-only open-data endpoints under /api/v1/ (JSON, or CSV with ``?format=csv``)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import yaml
from flask import Response, current_app, request, url_for

from app.api import bp, csvfile, serialize
from app.api.params import CSV, JSON, ApiError, Paging, choice, output_format, paging, search_text
from app.consultations import operations, results
from app.consultations.models import Consultation, Disposition, State
from app.extensions import db, limiter
from app.themes import operations as themes_ops
from app.themes import public as themes_public

SPEC_PATH = Path(__file__).with_name("openapi.yaml")
STATES = tuple(s.value for s in State if s != State.DRAFT)
#: seconds a shared cache may keep an answer: results are frozen once published
MAX_AGE = {"api.consultation_results": 300}
DEFAULT_MAX_AGE = 60
EXPOSED_HEADERS = (
    "Link, X-Total-Count, ETag, X-RateLimit-Limit, X-RateLimit-Remaining, "
    "X-RateLimit-Reset, Retry-After"
)
TITLES = {400: "Bad request", 404: "Not found"}

# One generous limit per client address for the whole API (KOE_API_RATE_LIMIT).
limiter.limit(lambda: current_app.config.get("API_RATE_LIMIT", "300 per minute"))(bp)


# --- responses --------------------------------------------------------------------------------


def json_response(data: dict, status: int = 200) -> Response:
    """JSON with Japanese as it is (UTF-8), not as \\u escapes."""
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return current_app.response_class(body, status=status, mimetype="application/json")


def csv_response(
    header: tuple[str, ...], rows: list[list], filename: str, headers: dict
) -> Response:
    response = current_app.response_class(
        csvfile.render(header, rows), mimetype="text/csv", headers=headers
    )
    response.content_type = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.errorhandler(ApiError)
def api_error(error: ApiError):
    title = TITLES.get(error.status, "Error")
    return json_response(
        {"error": {"code": error.status, "title": title, "message": error.message}}, error.status
    )


@bp.after_request
def open_data_headers(response: Response) -> Response:
    """Anyone may read open data from any site; successful answers may be cached a while."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
    if response.status_code == 200 and request.method in ("GET", "HEAD"):
        max_age = MAX_AGE.get(request.endpoint or "", DEFAULT_MAX_AGE)
        # A request with cookies may get its session cookie refreshed in the answer (Flask
        # saves the session after this hook): such an answer is for that browser only.
        scope = "private" if request.cookies else "public"
        response.headers["Cache-Control"] = f"{scope}, max-age={max_age}"
        response.add_etag()
        response.make_conditional(request)
    return response


def _page_url(page: int) -> str:
    args = {k: v for k, v in request.args.items() if k in ("q", "state", "per_page", "format")}
    return url_for(request.endpoint, **request.view_args, **args, page=page, _external=True)


def _paginated(pagination, paging_: Paging) -> tuple[dict, dict]:
    """The pagination fields of a list answer, and the Link / X-Total-Count headers."""
    pages = pagination.pages
    links = {
        "self": _page_url(paging_.page),
        "next": _page_url(paging_.page + 1) if paging_.page < pages else None,
        "prev": _page_url(min(paging_.page - 1, max(pages, 1))) if paging_.page > 1 else None,
    }
    fields = {
        "page": paging_.page,
        "per_page": paging_.per_page,
        "total": pagination.total,
        "pages": pages,
        "links": links,
    }
    link_header = ", ".join(
        f'<{url}>; rel="{rel}"' for rel, url in links.items() if url and rel != "self"
    )
    headers = {"X-Total-Count": str(pagination.total)}
    if link_header:
        headers["Link"] = link_header
    return fields, headers


def _paginate(query, paging_: Paging):
    return db.paginate(
        query,
        page=paging_.page,
        per_page=paging_.per_page,
        max_per_page=paging_.per_page,
        error_out=False,
    )


def _public_consultation(consultation_id: int) -> Consultation:
    consultation = db.session.get(Consultation, consultation_id)
    if consultation is None or consultation.state == State.DRAFT:
        raise ApiError(404, f"There is no public consultation with id {consultation_id}.")
    return consultation


# --- the description ------------------------------------------------------------------------


@cache
def _spec_text() -> str:
    return SPEC_PATH.read_text(encoding="utf-8")


@cache
def _spec() -> dict:
    return yaml.safe_load(_spec_text())


@bp.get("/")
def index():
    return json_response(
        {
            "openapi": url_for("api.openapi_yaml", _external=True),
            "consultations": url_for("api.consultations", _external=True),
        }
    )


@bp.get("/openapi.yaml")
def openapi_yaml():
    response = current_app.response_class(_spec_text(), mimetype="application/yaml")
    response.content_type = "application/yaml; charset=utf-8"
    return response


@bp.get("/openapi.json")
def openapi_json():
    return json_response(_spec())


# --- consultations ----------------------------------------------------------------------------


@bp.get("/consultations")
def consultations():
    """Consultations that left the draft, newest first; ``q`` searches, ``state`` filters."""
    paging_ = paging()
    query = operations.visible_consultations(search_text("q"))
    state = choice("state", STATES)
    if state:
        query = query.where(serialize.state_filter(state))
    page = _paginate(query, paging_)
    counts = serialize.counts_for([c.id for c in page.items])
    items = [serialize.consultation(c, counts[c.id]) for c in page.items]
    fields, headers = _paginated(page, paging_)
    if paging_.fmt == CSV:
        return csv_response(
            serialize.CONSULTATION_COLUMNS,
            [serialize.consultation_row(item) for item in items],
            f"koe-consultations-p{paging_.page}.csv",
            headers,
        )
    return json_response({"items": items, **fields}), 200, headers


@bp.get("/consultations/<int:consultation_id>")
def consultation(consultation_id: int):
    output_format((JSON,))
    return json_response(serialize.consultation_detail(_public_consultation(consultation_id)))


@bp.get("/consultations/<int:consultation_id>/opinions")
def opinions(consultation_id: int):
    """Published opinions (masked public copies), oldest first."""
    paging_ = paging()
    consultation = _public_consultation(consultation_id)
    page = _paginate(operations.published_query(consultation), paging_)
    pairs = operations.with_items(page.items)
    names = serialize.public_names(page.items)
    reactions = operations.reaction_counts([o.id for o in page.items])
    items = [serialize.opinion(o, public, names, reactions) for o, public in pairs]
    fields, headers = _paginated(page, paging_)
    if paging_.fmt == CSV:
        return csv_response(
            serialize.OPINION_COLUMNS,
            [serialize.opinion_row(item) for item in items],
            f"koe-consultation-{consultation.id}-opinions-p{paging_.page}.csv",
            headers,
        )
    body = {"consultation_id": consultation.id, "items": items, **fields}
    return json_response(body), 200, headers


@bp.get("/consultations/<int:consultation_id>/results")
def consultation_results(consultation_id: int):
    """The published results: counts, the ward's view per opinion (paginated), the final text."""
    paging_ = paging(json_default=results.ROWS_PER_PAGE)
    consultation = _public_consultation(consultation_id)
    if consultation.current_state() != State.PUBLISHED:
        raise ApiError(404, f"The results of consultation {consultation_id} are not published.")
    page = _paginate(results.table_query(consultation, fold=False), paging_)
    rows = operations.with_items(page.items)
    fields, headers = _paginated(page, paging_)
    if paging_.fmt == CSV:
        return csv_response(
            serialize.RESULT_COLUMNS,
            serialize.result_rows(rows),
            f"koe-consultation-{consultation.id}-results-p{paging_.page}.csv",
            headers,
        )
    counts = serialize.counts_for([consultation.id])[consultation.id]
    body = {
        "consultation": serialize.consultation(consultation, counts),
        "dispositions": serialize.disposition_legend(),
        "counts": serialize.count_table(consultation),
        "sections": serialize.sections_with_changes(consultation),
        "answers": serialize.answers(rows),
        **fields,
    }
    return json_response(body), 200, headers


THEME_COLUMNS = (
    "number",
    "key",
    "label",
    "keywords",
    "size",
    "x",
    "y",
    *(d.value for d in Disposition),
)


@bp.get("/consultations/<int:consultation_id>/themes")
def consultation_themes(consultation_id: int):
    """The themes of the opinions as residents see them (404 unless they are shown)."""
    fmt = output_format()
    consultation = _public_consultation(consultation_id)
    run = themes_ops.latest(consultation, finished=True)
    if run is None or not themes_public.visible(consultation):
        raise ApiError(404, f"The themes of consultation {consultation_id} are not published.")
    shown = themes_public.public_themes(consultation, run)
    if fmt == CSV:
        rows = [
            [t.number, t.key, t.label, "・".join(t.keywords), t.size, round(t.x, 4), round(t.y, 4)]
            + [t.dispositions.get(d, 0) for d in Disposition]
            for t in shown
        ]
        name = f"koe-consultation-{consultation.id}-themes.csv"
        return csv_response(THEME_COLUMNS, rows, name, {})
    people, groups, consensus = themes_public.public_groups(run)
    body = {
        "consultation_id": consultation.id,
        "grouped_at": serialize.tokyo_iso(run.finished_at),
        "opinions": run.texts,
        "themes": [
            {
                "number": t.number,
                "key": t.key,
                "label": t.label,
                "keywords": t.keywords,
                "size": t.size,
                "x": round(t.x, 4),
                "y": round(t.y, 4),
                "examples": [{"opinion_id": i, "text": text} for i, text in t.quoted],
                "dispositions": {d.value: n for d, n in t.dispositions.items()},
                "answers": [{"number": a.number, "opinions": n} for a, n in t.answers],
            }
            for t in shown
        ],
        "opinion_groups": {
            "people": people,
            "groups": [
                {
                    "name": g.letter,
                    "size": g.size,
                    "statements": [
                        {"stance": stance, "percent": percent, "text": text}
                        for stance, percent, text in g.statements
                    ],
                }
                for g in groups
            ],
            "consensus": consensus,
        },
    }
    return json_response(body)
