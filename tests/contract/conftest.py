"""Asana's OpenAPI spec, loaded once for the contract tests.

The spec lives outside the project (``../shared/asana/asana_oas.yaml`` beside the checkout, or the
path in ``DELEGATOR_ASANA_SPEC``). When it is absent the contract tests skip and say why.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SPEC = REPO_ROOT.parent / "shared" / "asana" / "asana_oas.yaml"


def spec_path() -> Path:
    return Path(os.environ.get("DELEGATOR_ASANA_SPEC", str(DEFAULT_SPEC)))


def _stringify_keys(node: Any) -> Any:
    # The spec writes response codes as bare YAML keys (200:), which PyYAML reads as ints;
    # openapi-core expects strings.
    if isinstance(node, dict):
        return {str(key): _stringify_keys(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_stringify_keys(item) for item in node]
    return node


@pytest.fixture(scope="session")
def asana_openapi() -> Any:
    """An ``openapi_core.OpenAPI`` for Asana's API, or a skip when the spec file is missing."""
    path = spec_path()
    if not path.is_file():
        pytest.skip(f"Asana's OpenAPI spec not found at {path} (set DELEGATOR_ASANA_SPEC)")
    from openapi_core import OpenAPI

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open("rb") as handle:
        raw = yaml.load(handle, Loader=loader)  # noqa: S506 - a safe loader, chosen for speed
    with warnings.catch_warnings():
        # openapi-core does not model the oauth2 security scheme and says so; harmless here.
        warnings.simplefilter("ignore")
        return OpenAPI.from_dict(_stringify_keys(raw))
