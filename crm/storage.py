"""Static files in production: hashed names, compressed copies (WhiteNoise)."""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    """Also rewrites the web app's ES module imports (``import ... from "./api.js"``) to
    the hashed names, so every module can be cached for good and a deploy never mixes
    old and new modules."""

    support_js_module_import_aggregation = True
