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
RUN pip install --no-cache-dir -c constraints.txt . && useradd --system --home /app tandem
USER tandem
EXPOSE 8000
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "3", "web.wsgi:create()"]
