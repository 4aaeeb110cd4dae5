# Production image: one image, three roles (web, worker, tick) chosen by the compose command.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY tandem tandem
COPY scheduler scheduler
COPY adapters adapters
COPY workers workers
COPY web web
COPY config config
COPY emulators emulators
COPY bench bench
RUN pip install --no-cache-dir -c constraints.txt . \
    && useradd --system --no-create-home --home-dir /app --shell /usr/sbin/nologin tandem \
    && mkdir -p /var/run/tandem-metrics && chown tandem:tandem /var/run/tandem-metrics
# Never root at run time: the code is owned by root and read-only to the tandem user.
USER tandem
# prometheus_client multiprocess mode (gunicorn workers; a shared volume in docker-compose.yml)
ENV PROMETHEUS_MULTIPROC_DIR=/var/run/tandem-metrics
EXPOSE 8000
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "3", "web.wsgi:create()"]
