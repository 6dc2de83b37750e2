from tests.imports.conftest import run_import

__all__ = ["run_import"]
