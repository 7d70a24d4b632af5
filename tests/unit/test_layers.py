"""The package's layering (../shared/DESIGN.md), checked by import-linter on every run.

Doors (cli, quickstart, sagemaker) over engines over the foundation; an import that goes up,
or a cycle between first-level rooms, fails here. Function-level (lazy) imports count.
"""

from __future__ import annotations

import pathlib

from importlinter.cli import lint_imports

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_imports_only_go_down(monkeypatch):
    monkeypatch.chdir(ROOT)
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0


def test_every_first_level_room_is_in_a_layer():
    """A new room must be placed in the layers contract, or it escapes the check."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    layered = set()
    for contract in config["contracts"]:
        for layer in contract.get("layers", []):
            layered |= {m.strip().removeprefix("raymaker.") for m in layer.split("|")}
    package = ROOT / "raymaker"
    rooms = {p.stem for p in package.glob("*.py") if p.stem != "__init__"}
    rooms |= {
        p.name
        for p in package.iterdir()
        if p.is_dir() and not p.name.startswith("_") and any(p.glob("*.py"))
    }
    assert rooms <= layered, f"rooms outside the layers contract: {sorted(rooms - layered)}"
