"""WSGI entry point for gunicorn: `gunicorn pacttracker.wsgi`."""

import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import resolve

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pacttracker.settings")

application = get_wsgi_application()

# What a web process loads once (Django, the apps, the URLconf and every view module it
# imports) lives as long as the process: about 150,000 objects that each full garbage
# collection would walk again, some 70 ms every few dozen requests. Loaded now and frozen
# (moved out of the collector's generations), a full collection walks only what requests
# made since.
resolve("/")  # imports the URLconf, and with it every view module
gc.collect()
gc.freeze()
