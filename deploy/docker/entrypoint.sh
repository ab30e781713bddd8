#!/bin/sh
# The image's one entry point: the first argument says which process to run.
#   web                 gunicorn on $BIND (default 0.0.0.0:8000)
#   worker [ARGS]       a Celery worker; CELERY_QUEUES (e.g. "interactive" or
#                       "campaigns") limits it to those queues, default all
#   beat                Celery beat (exactly one in a deployment)
#   migrate             manage.py migrate (once per release, before the rollout)
#   manage ARGS         any manage.py command (seed_demo, verify_access_log, ...)
#   anything else       run as given
set -eu

role="${1:-web}"
[ "$#" -gt 0 ] && shift

case "$role" in
  web)
    exec gunicorn config.wsgi \
      --logger-class config.gunicorn_logging.RedactingLogger \
      --bind "${BIND:-0.0.0.0:8000}" \
      --workers "${WEB_CONCURRENCY:-2}" \
      --worker-tmp-dir /dev/shm \
      --access-logfile - \
      --access-logformat '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(b)s %(L)s' \
      --forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-127.0.0.1}" \
      "$@"
    ;;
  worker)
    if [ -n "${CELERY_QUEUES:-}" ]; then
      set -- -Q "$CELERY_QUEUES" "$@"
    fi
    exec celery -A config worker --loglevel "${LOG_LEVEL:-INFO}" \
      --concurrency "${WORKER_CONCURRENCY:-2}" "$@"
    ;;
  beat)
    exec celery -A config beat --loglevel "${LOG_LEVEL:-INFO}" \
      --schedule "${CELERY_BEAT_SCHEDULE_FILE:-/tmp/celerybeat-schedule}" "$@"
    ;;
  migrate)
    exec python manage.py migrate --noinput "$@"
    ;;
  manage)
    exec python manage.py "$@"
    ;;
  *)
    exec "$role" "$@"
    ;;
esac
