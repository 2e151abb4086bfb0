"""Settings for the benchmarks: the console's own, plus a bare view to compare against."""

from kato_console.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
