"""Vigia: payment-integrity pipelines for Brazilian health care.

Domain logic only. Nothing in this package imports Airflow, so plain pytest
covers it; the DAGs under ``dags/`` are thin wrappers around these functions.
"""
