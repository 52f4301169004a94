"""Makes torch unimportable in a Python that has it, as if it were not installed: put this
folder on PYTHONPATH. `importlib.util.find_spec("torch")` answers None and `import torch`
raises ModuleNotFoundError, as on a CPU install of reenact without the [cuda] / [train] extras."""

import importlib.machinery

_find_spec = importlib.machinery.PathFinder.find_spec.__func__


def _without_torch(cls, fullname, path=None, target=None):
    if fullname == "torch" or fullname.startswith("torch."):
        return None
    return _find_spec(cls, fullname, path, target)


importlib.machinery.PathFinder.find_spec = classmethod(_without_torch)
