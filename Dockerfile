# The Vigia image: the official Airflow 3.3.2 image plus requirements.txt, baked in at build
# time (never _PIP_ADDITIONAL_REQUIREMENTS, which reinstalls at every container start).
# dags/, plugins/ and include/ are mounted by docker-compose.yaml, so code changes need no
# rebuild; only requirements.txt does.
FROM apache/airflow:3.3.2-python3.11

# the same exact pins as the local virtualenv; "apache-airflow==3.3.2" in the file keeps
# pip from touching the image's Airflow
COPY --chown=airflow:0 requirements.txt /requirements.txt
RUN pip install --no-cache-dir -r /requirements.txt

# the vigia package lives in include/ (mounted at /opt/airflow/include); Airflow's own
# processes put dags/ on sys.path, include/ is added here for them and for pytest alike
ENV PYTHONPATH=/opt/airflow/include \
    VIGIA_DATA_DIR=/opt/airflow/data \
    GX_ANALYTICS_ENABLED=False
