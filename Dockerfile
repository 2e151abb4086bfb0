# One image for web, worker and beat (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 KATO_VAR_DIR=/var/lib/kato
WORKDIR /app

# python-ldap (LDAP sign-in) is built against OpenLDAP's and SASL's headers.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libldap2-dev libsasl2-dev \
    && rm -rf /var/lib/apt/lists/*

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
# --access-logformat: the path only (%(U)s), never the query string, which may carry ?secret_key=.
CMD ["gunicorn", "kato_console.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--worker-tmp-dir", "/dev/shm", "--access-logfile", "-", "--access-logformat", "%(h)s %(l)s %(u)s %(t)s \"%(m)s %(U)s %(H)s\" %(s)s %(b)s %(L)s"]
