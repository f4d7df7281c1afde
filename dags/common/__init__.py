"""Airflow-side glue shared by the DAG files (connections, warehouse, fail-fast errors, assets)."""
