"""The registry's naming rules (internal/registry/names.go), checked before
anything is sent: each function returns why a name breaks a rule, or None."""

from __future__ import annotations

import unicodedata
from typing import Optional

MAX_NAME_LEN = 255
MAX_ARTIFACT_NAME_LEN = 1024
RESERVED = "?#%"


def _control(name: str) -> bool:
    return any(unicodedata.category(c) == "Cc" for c in name)


def validate_name(name: str) -> Optional[str]:
    """Why a namespace, model, version, experiment or tag name is refused."""
    if any(c in name for c in RESERVED):
        return "must not contain '?', '#' or '%' (they mean something else in a URL)"
    if name == "*":
        return 'must not be "*" (a token\'s ["*"] means every namespace)'
    if name == "":
        return "must not be empty"
    if len(name) > MAX_NAME_LEN:
        return f"must be at most {MAX_NAME_LEN} characters"
    if name in (".", ".."):
        return f"must not be {name!r}"
    if "/" in name:
        return "must not contain '/'"
    if "\\" in name:
        return "must not contain '\\'"
    if _control(name):
        return "must not contain control characters"
    if name.strip() != name:
        return "must not start or end with whitespace"
    return None


def validate_artifact_name(name: str) -> Optional[str]:
    """Why an artifact name (a relative path with '/' separators) is refused."""
    if any(c in name for c in RESERVED):
        return "must not contain '?', '#' or '%' (they mean something else in a URL)"
    if len(name) >= 2 and name[1] == ":" and name[0].isascii() and name[0].isalpha():
        return f"must not start like a drive letter ({name[:2]!r})"
    if name == "":
        return "must not be empty"
    if len(name) > MAX_ARTIFACT_NAME_LEN:
        return f"must be at most {MAX_ARTIFACT_NAME_LEN} characters"
    if name.startswith("/"):
        return "must be a relative path (no leading '/')"
    if "\\" in name:
        return "must not contain '\\'"
    if _control(name):
        return "must not contain control characters"
    for seg in name.split("/"):
        if seg == "":
            return "must not contain empty path segments"
        if seg in (".", ".."):
            return f"must not contain {seg!r} segments"
    return None


def validate_version_name(name: str) -> Optional[str]:
    """Why a new version name is refused: those of validate_name, and a
    leading '@' (it marks a version selector: @<lifecycle> or @<alias>)."""
    if name.startswith("@"):
        return "must not start with '@' (it marks a version selector: @<lifecycle> or @<alias>)"
    return validate_name(name)
