"""The house's layers (docs/ARCHITECTURE.md): a module imports only its own layer and those below.

A frame can then be followed through the folders in the order of the stages, and nothing below
reaches back up (e.g. `render/` never imports `pipeline/`). Training and evaluation are the lab's
(`reenact-lab/`), above all of these.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "reenact"
LAYERS = {
    0: {
        "errors",
        "atomic",
        "config",
        "plugin_api",
        "video",
        "encode",
        "imageio",
        "ramps",
        "stopping",
        "files",
        "image_header",
        "paths",
        "log",
        "profiling",
    },
    1: {"nn", "landmarks", "engine", "models", "avatar", "avatar_checks"},
    2: {"fusion", "render"},
    3: {"pipeline"},
    4: {"stream"},
    5: {"tools"},
    6: {"cli", "__main__"},
}
LAYER_OF = {name: level for level, names in LAYERS.items() for name in names}


def _imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("reenact."):
            found.append(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found += [a.name.split(".")[1] for a in node.names if a.name.startswith("reenact.")]
    return found


def test_every_folder_has_a_layer():
    homes = {
        p.stem if p.is_file() else p.name
        for p in PACKAGE.iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()
    }
    assert homes <= set(LAYER_OF), sorted(homes - set(LAYER_OF))


def test_no_module_reaches_up_a_layer():
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        home = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        for other in _imports(path):
            if other in LAYER_OF and LAYER_OF[other] > LAYER_OF.get(home, 0):
                upward.append(f"{path.relative_to(PACKAGE)} imports reenact.{other}")
    assert not upward, upward
