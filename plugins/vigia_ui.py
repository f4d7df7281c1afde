"""The "Vigia" page in the Airflow UI (Airflow 3 plugin interface).

* ``fastapi_apps``: the app from ``vigia.ui.app`` mounted in the API server under
  ``/vigia``, behind Airflow's own authentication (the ``_token`` cookie the UI sets at
  login, or a bearer token): anonymous requests get 401.
* ``external_views``: a "Vigia" entry in the navigation that shows ``/vigia/`` inside
  the UI (``url_route`` ``vigia`` -> ``/plugin/vigia``).

The page reads the warehouse read-only through the ``warehouse_readonly`` connection
when it exists (e.g. the BI role of the production warehouse), else ``warehouse``,
else the embedded default. Everything else lives in ``include/vigia/ui/``.
"""

from __future__ import annotations

import logging

from airflow.plugins_manager import AirflowPlugin
from fastapi import Depends, Request

log = logging.getLogger(__name__)

URL_PREFIX = "/vigia"
CONN_IDS = ("warehouse_readonly", "warehouse")


def _spec():
    """The ConnectionSpec of the first connection in CONN_IDS that exists, or the embedded default."""
    from airflow.exceptions import AirflowNotFoundException
    from airflow.models.connection import Connection

    from vigia.connections import ConnectionSpec, default_uri

    for conn_id in CONN_IDS:
        try:
            conn = Connection.get_connection_from_secrets(conn_id)
        except AirflowNotFoundException:
            continue
        return ConnectionSpec.from_fields(
            "warehouse", conn.conn_type, host=conn.host, port=conn.port, login=conn.login,
            password=conn.password, schema=conn.schema, extra=conn.extra_dejson,
        )
    return ConnectionSpec.from_uri("warehouse", default_uri("warehouse"))


def _reader():
    from vigia.ui.reader import Reader

    return Reader(_spec())


async def _require_login(request: Request) -> None:
    """Airflow's own check (``get_user``): the UI's session cookie or a bearer token, else 401/403.

    Imported on the first request: every Airflow process, task runners included, imports this
    plugin, and the API server's security module is slow to import.
    """
    from fastapi.security import HTTPBearer

    from airflow.api_fastapi.core_api.security import get_user

    await get_user(request, None, await HTTPBearer(auto_error=False)(request))


def _app():
    from vigia import paths
    from vigia.ui.app import create_app
    from vigia.ui.model_card import default_dir

    return create_app(
        _reader,
        reports_dir=paths.data_dir() / "reports",
        models_dir=default_dir(),
        exports_dir=paths.exports_dir(),
        dependencies=[Depends(_require_login)],
    )


class VigiaPlugin(AirflowPlugin):
    name = "vigia"
    fastapi_apps = [{"app": _app(), "url_prefix": URL_PREFIX, "name": "Vigia"}]
    external_views = [{
        "name": "Vigia",
        "href": "/vigia/",
        "url_route": "vigia",
        "destination": "nav",
        "category": None,
    }]
