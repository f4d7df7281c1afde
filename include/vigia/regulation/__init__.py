"""Prior-authorisation regulation (issue 4): the ``regulation_source`` contract, point-in-time
features and their data-quality gates (``source``, ``features``, ``quality``), and the learning
side (preprocessing, models, registry) built on them.

Nothing here imports Airflow; import the submodule you need (this package imports nothing).
"""
