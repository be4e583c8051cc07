"""Settings for bench/api.py: the app's own, with a URLconf that adds the bare yardstick page."""

from crm.settings import *  # noqa: F403

ROOT_URLCONF = "bench.api_urls"
