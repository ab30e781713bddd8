# gunicorn reads this file from the directory it starts in: whoever runs
# `gunicorn config.wsgi` from a checkout gets the redacting logger
# (config/gunicorn_logging.py) even without the Procfile's --logger-class.
logger_class = "config.gunicorn_logging.RedactingLogger"
