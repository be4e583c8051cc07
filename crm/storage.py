"""Static files for production: hashed names and compression (whitenoise), minus source maps."""

from django.contrib.staticfiles.storage import ManifestStaticFilesStorage
from whitenoise.storage import CompressedManifestStaticFilesStorage


def _without_source_maps(patterns):
    def keep(pattern) -> bool:
        regex = pattern[0] if isinstance(pattern, tuple) else pattern
        return "sourceMappingURL" not in regex

    return tuple((ext, tuple(p for p in pats if keep(p))) for ext, pats in patterns)


class StaticStorage(CompressedManifestStaticFilesStorage):
    """The vendored Bootstrap and Chart.js name .map files that are not shipped; without this
    `collectstatic` stops with MissingFileError. The maps are only for browser debuggers."""

    patterns = _without_source_maps(ManifestStaticFilesStorage.patterns)
