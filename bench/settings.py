"""Settings for benchmark runs: the production settings plus the bare baseline view's URLconf.

Everything else (DEBUG, SECRET_KEY, DATABASE_URL, ALLOWED_HOSTS, throttles) comes from the
environment that bench/run.py sets, exactly as in production.
"""

from pacttracker.settings import *  # noqa: F403
from pacttracker.settings import BASE_DIR

ROOT_URLCONF = "bench.urls"
# collectstatic goes here, so that pages render with DEBUG off (manifest storage) without
# touching the project's own staticfiles/.
STATIC_ROOT = BASE_DIR / "var" / "bench-static"
# The bench worker listens on its own queue, so it never takes another worker's tasks from a
# shared Redis, nor they its own.
CELERY_TASK_DEFAULT_QUEUE = "bench"
# The benchmark data generator (`manage.py generate_agreements`) ships with the benchmarks, not
# with the product: it is a command of this app, installed only under these settings.
INSTALLED_APPS = [*INSTALLED_APPS, "bench"]  # noqa: F405
