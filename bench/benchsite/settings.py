"""The product's settings, unchanged, plus a URLconf that adds `/bench/bare-open-lines/`.

Every value (DEBUG, SECRET_KEY, DATABASE_URL, ...) still comes from the environment, as in
production; only ROOT_URLCONF differs, so the product pages and the bare comparison view
are served by the same server process with the same middleware.
"""

from vendorportal.settings import *  # noqa: F403

ROOT_URLCONF = "bench.benchsite.urls"
