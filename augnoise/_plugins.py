"""What plugs into the core: augnoise's own modality packages, the adapters for array types
other than numpy, and third-party plugins (the ``augnoise.plugins`` entry-point group).

``augnoise.core`` knows no modality: it imports this module to load them, by the fixed names
below (never a name taken from a configuration)."""
from __future__ import annotations

import importlib

#: augnoise's own modality packages: importing one registers its transforms, kernels, sections
#: and name-prefix resolvers
MODALITIES = ("augnoise.image", "augnoise.audio", "augnoise.tabular", "augnoise.adversarial",
              "augnoise.recipes.targets")
#: array adapters by the top-level module of the array's type
ADAPTERS = {"torch": "augnoise.torch.backend"}
ENTRY_POINT_GROUP = "augnoise.plugins"

_loaded = False


def load_all() -> None:
    """Import every modality package and third-party plugin once."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for mod in MODALITIES:
        importlib.import_module(mod)
    try:
        from importlib.metadata import entry_points

        for ep in entry_points(group=ENTRY_POINT_GROUP):
            ep.load()
    except Exception as err:  # a broken third-party plugin must not break augnoise itself
        import warnings

        warnings.warn(f"augnoise: a plugin of group {ENTRY_POINT_GROUP!r} failed to load: {err}", stacklevel=2)


def adapter_module(root: str) -> str | None:
    """The adapter module for arrays whose type lives in top-level module ``root``."""
    return ADAPTERS.get(root)
