import pytest


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """Attachments are stored through the storage API; in tests, under a throwaway directory."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
