"""The product's settings plus a URLconf that adds `/bench/bare-open-lines/`, and a first
middleware that answers `/bench/raw-open-lines/` (bench/benchsite/raw.py).

Every value (DEBUG, SECRET_KEY, DATABASE_URL, ...) still comes from the environment, as in
production; only ROOT_URLCONF and the first middleware differ, so the product pages and the
comparison views are served by the same server process.
"""

from vendorportal.settings import *  # noqa: F403

ROOT_URLCONF = "bench.benchsite.urls"

# The raw page answers before every product middleware (bench/benchsite/raw.py).
MIDDLEWARE = ["bench.benchsite.raw.RawOpenLinesMiddleware", *MIDDLEWARE]  # noqa: F405
