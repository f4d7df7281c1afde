"""The Vigia page as a FastAPI app (mounted by ``plugins/vigia_ui.py`` under ``/vigia``).

Routes (relative to the mount point):

* ``GET /`` the page: glosa, SUS, regulation and rules sections. Query parameters:
  ``top`` (rows per section, 1-100, default 10), ``competencia`` and ``hospital`` (glosa),
  ``sus_competencia``, ``uf`` and ``alvo`` (SUS). Each is validated, then bound in SQL.
* ``GET /glosa`` every profile of a competência (``competencia``, ``hospital``);
  ``GET /glosa/base_cluster_por_hospital.csv`` the Power BI export.
* ``GET /sus`` the whole ranking of a competência (``competencia``, ``uf``, ``alvo``: one
  target's establishments by their excess on it);
  ``GET /sus/folhas/{YYYY-MM}/{file}.html`` a fact sheet from ``<reports>/sus/``.
* ``GET /regulacao/modelo`` the full model card (Markdown and JSON).
* ``GET /api/resumo`` the numbers the page shows, as JSON.

``reader_factory`` is called per request (the connection may change in the Airflow UI);
``dependencies`` are added to every route (the plugin passes Airflow's authentication).
pandas and the database drivers are imported on the first request, not when the plugin
is loaded (every Airflow component loads plugins).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

from typing import TYPE_CHECKING

from fastapi import FastAPI, HTTPException, Query
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

if TYPE_CHECKING:
    from vigia.ui.reader import Reader

CSV_NAME = "base_cluster_por_hospital.csv"
_MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"
MAX_TOP = 1000
_SHEET = r"^[A-Za-z0-9._-]+\.html$"
_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store", "Referrer-Policy": "same-origin"}


def _html(text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(text, status_code=status, headers=_HEADERS)


def create_app(reader_factory: Callable[[], Reader], *, reports_dir: Path | None = None,
               models_dir: Path | None = None, exports_dir: Path | None = None,
               dependencies: Sequence = ()) -> FastAPI:
    app = FastAPI(title="Vigia", docs_url=None, redoc_url=None, openapi_url=None,
                  dependencies=list(dependencies))

    def read(fn):
        """Run ``fn(session)`` on a read-only session; an unreadable warehouse becomes a 503 page."""
        from vigia.ui.reader import WarehouseUnavailable

        reader = reader_factory()
        if not reader.exists():
            raise WarehouseUnavailable(
                f"Nenhum resultado ainda: o warehouse ({reader.describe()}) ainda não existe. Rode um DAG.")
        with reader.session() as session:
            return fn(session)

    def guarded(fn):
        from vigia.ui import render
        from vigia.ui.reader import WarehouseUnavailable

        try:
            return fn()
        except WarehouseUnavailable as exc:
            return _html(render.unavailable(str(exc)), 503)
        except ValueError as exc:  # a filter that does not parse
            raise HTTPException(status_code=422, detail=str(exc)) from exc

    @app.get("/", response_class=HTMLResponse)
    def index(top: int = Query(10, ge=1, le=100), competencia: str | None = Query(None, pattern=_MONTH),
              hospital: str | None = Query(None, max_length=200),
              sus_competencia: str | None = Query(None, pattern=_MONTH),
              uf: str | None = Query(None, max_length=2), alvo: str | None = Query(None, max_length=40)):
        from vigia.ui import render, sections

        def body(session):
            return [
                render.glosa(sections.glosa(session, competencia, hospital, top), top),
                render.sus(sections.sus(session, sus_competencia, uf, top, reports_dir, alvo), top),
                render.regulation(sections.regulation(session, models_dir, top)),
                render.rules(sections.rules(session, top)),
            ]
        return guarded(lambda: _html(render.page("Vigia: resultados mais recentes", "".join(read(body)),
                                                 "Glosas, SUS, regulação e regras, lidos do warehouse")))

    @app.get("/glosa", response_class=HTMLResponse)
    def glosa_full(competencia: str | None = Query(None, pattern=_MONTH),
                   hospital: str | None = Query(None, max_length=200)):
        from vigia.ui import render, sections

        top = MAX_TOP
        return guarded(lambda: _html(render.page(
            "Vigia: perfis de glosa", '<p><a href=".">voltar</a></p>'
            + read(lambda s: render.glosa(sections.glosa(s, competencia, hospital, top), top, full=True)))))

    @app.get("/glosa/" + CSV_NAME)
    def glosa_csv():
        path = Path(exports_dir or "") / CSV_NAME
        if exports_dir is None or not path.is_file():
            raise HTTPException(status_code=404, detail=f"{CSV_NAME} not found: run glosa_clustering first")
        return FileResponse(path, media_type="text/csv", filename=CSV_NAME, headers=_HEADERS)

    @app.get("/sus", response_class=HTMLResponse)
    def sus_full(competencia: str | None = Query(None, pattern=_MONTH), uf: str | None = Query(None, max_length=2),
                 alvo: str | None = Query(None, max_length=40)):
        from vigia.ui import render, sections

        top = MAX_TOP
        return guarded(lambda: _html(render.page(
            "Vigia: ranking SUS", '<p><a href=".">voltar</a></p>'
            + read(lambda s: render.sus(sections.sus(s, competencia, uf, top, reports_dir, alvo), top, full=True)))))

    @app.get("/sus/folhas/{mes}/{arquivo}", response_class=HTMLResponse)
    def fact_sheet(mes: str, arquivo: str):
        if not re.match(_MONTH, mes) or not re.match(_SHEET, arquivo) or reports_dir is None:
            raise HTTPException(status_code=404, detail="fact sheet not found")
        root = (Path(reports_dir) / "sus").resolve()
        path = (root / mes / arquivo).resolve()
        if root not in path.parents or not path.is_file():
            raise HTTPException(status_code=404, detail=f"fact sheet {mes}/{arquivo} not found")
        return FileResponse(path, media_type="text/html; charset=utf-8", headers=_HEADERS)

    @app.get("/regulacao/modelo", response_class=HTMLResponse)
    def model_card():
        from vigia.ui import render
        from vigia.ui.model_card import load as load_card

        return _html(render.model_card_page(load_card(models_dir)))

    @app.get("/api/resumo")
    def summary(top: int = Query(10, ge=1, le=100)):
        from vigia.ui import sections

        def body(session):
            g = sections.glosa(session, None, None, top)
            s = sections.sus(session, None, None, top, reports_dir)
            r = sections.rules(session, top)
            m = sections.regulation(session, models_dir, top)
            return {
                "glosa": {"status": g.status, "competencia": g.competencia and f"{g.competencia:%Y-%m}",
                          "totals": _plain(g.totals), "top": _records(g.rows)},
                "sus": {"status": s.status, "competencia": s.competencia and f"{s.competencia:%Y-%m}",
                        "totals": _plain(s.totals), "top": _records(s.rows.drop(columns=["folha_de_fatos"],
                                                                                 errors="ignore"))},
                "regulacao": {"status": m.status, "model_card": bool(m.extra["card"].exists),
                              "totals": _plain(m.totals)},
                "regras": {"status": r.status, "totals": _plain(r.totals)},
            }
        return guarded(lambda: JSONResponse(read(body), headers=_HEADERS))

    return app


def _plain(d: dict) -> dict:
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in d.items()}


def _records(df) -> list[dict]:
    import json

    return json.loads(df.to_json(orient="records", date_format="iso")) if len(df) else []
