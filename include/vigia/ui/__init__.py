"""The Vigia page: the latest results from the warehouse, server-rendered, read-only.

Free of Airflow: :func:`vigia.ui.app.create_app` builds a FastAPI app from a
reader factory and a few folders; ``plugins/vigia_ui.py`` mounts it in the
Airflow API server under ``/vigia`` (behind Airflow's login) and adds the
"Vigia" entry to the UI's navigation. Tests drive the same app with FastAPI's
TestClient.

Modules: ``reader`` (read-only warehouse access), ``sections`` (what each
section shows, from ``include/sql/ui/*.sql``), ``model_card`` (the regulation
model card files), ``render`` (HTML), ``fmt`` (Brazilian number formats),
``app`` (routes).
"""
