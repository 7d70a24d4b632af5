import subprocess
import sys

import raymaker


def test_all_is_explicit_and_every_name_resolves():
    assert raymaker.__all__ == sorted(raymaker.__all__)
    for name in raymaker.__all__:
        assert getattr(raymaker, name) is not None, name


def test_unknown_attribute_is_an_attribute_error():
    try:
        raymaker.NoSuchThing  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_importing_raymaker_and_its_cli_imports_no_engine():
    code = (
        "import sys, raymaker, raymaker.cli.main; "
        "heavy = [m for m in ('ray', 'torch', 'xgboost', 'lightgbm', 'pandas', 's3fs', 'fsspec')"
        " if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_cli_help_is_instant():
    import time

    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "raymaker", "--help"], capture_output=True, check=True)
    assert time.perf_counter() - start < 3.0
