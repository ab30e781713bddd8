from .celery import app as celery_app
from .network import client_ip

__all__ = ["celery_app", "client_ip"]
