# One image for web, worker and beat (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 KATO_VAR_DIR=/var/lib/kato
WORKDIR /app

COPY pyproject.toml README.md ./
COPY kato_console ./kato_console
COPY components ./components
COPY instances ./instances
RUN pip install --no-cache-dir .
COPY . .
RUN mkdir -p /var/lib/kato \
    && DEBUG=1 SECRET_KEY=build-only-collectstatic-key python manage.py collectstatic --noinput \
    && useradd --system --home /app kato && chown -R kato /var/lib/kato
USER kato

EXPOSE 8000
# --worker-tmp-dir: the workers' heartbeat file on tmpfs; a container's /tmp is disk-backed (gunicorn FAQ).
CMD ["gunicorn", "kato_console.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--worker-tmp-dir", "/dev/shm", "--access-logfile", "-"]
