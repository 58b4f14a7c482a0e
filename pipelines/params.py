"""params.yaml, profiles and overrides: the only place run settings come from.

    dlzoo params show                    # the merged params of the default profile
    dlzoo --profile smoke params show    # params.yaml with profiles/smoke.yaml merged over it

A profile is a partial params file under ``profiles/`` merged over ``params.yaml``; ``--set a.b=v``
overrides single keys (values parsed as YAML). Nothing is picked implicitly.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import yaml

PROFILES_DIR = Path("profiles")


def deep_merge(base: dict, over: dict) -> dict:
    """A new dict: ``over`` merged into ``base`` key by key (nested dicts merge, the rest replaces)."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def parse_override(text: str) -> dict:
    """``"a.b.c=3"`` -> ``{"a": {"b": {"c": 3}}}``."""
    if "=" not in text:
        raise ValueError(f"--set expects KEY=VALUE, got {text!r}")
    key, raw = text.split("=", 1)
    value: Any = yaml.safe_load(raw)
    for part in reversed(key.strip().split(".")):
        value = {part: value}
    return value


def load_params(path: str | Path = "params.yaml", profile: str | None = None,
                overrides: list[str] | tuple[str, ...] = ()) -> dict:
    """Read ``path``, merge ``profiles/<profile>.yaml`` over it, then each ``--set`` override."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"params file {path} does not exist (run from the project root)")
    params = yaml.safe_load(path.read_text()) or {}
    if profile:
        prof = path.parent / PROFILES_DIR / f"{profile}.yaml"
        if not prof.is_file():
            known = sorted(p.stem for p in (path.parent / PROFILES_DIR).glob("*.yaml"))
            raise FileNotFoundError(f"profile {profile!r}: {prof} does not exist (known: {known})")
        params = deep_merge(params, yaml.safe_load(prof.read_text()) or {})
    for text in overrides:
        params = deep_merge(params, parse_override(text))
    return params


def fingerprint(obj: Any) -> str:
    """A stable short hash of any JSON-serialisable value."""
    blob = json.dumps(obj, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def section(params: dict, name: str) -> dict:
    if name not in params:
        raise KeyError(f"params: no section {name!r} (sections: {sorted(params)})")
    return params[name]
