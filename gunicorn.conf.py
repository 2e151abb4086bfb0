"""gunicorn's settings for the console's web processes; gunicorn reads this file from the folder it
starts in (the image's /app), so the Dockerfile and docker-compose.yml both use it.

A restart or a stop (SIGHUP, SIGTERM) lets the requests in hand finish for up to ``graceful_timeout``
seconds before a worker is stopped; the database's connect and statement timeouts (settings) keep
every request well under it, so a restart sheds nothing it accepted.
"""

graceful_timeout = 30
timeout = 30
# The access log escapes what the request sent (no forged lines from a %0a in the path).
logger_class = "kato_console.access_log.EscapedAccessLog"
