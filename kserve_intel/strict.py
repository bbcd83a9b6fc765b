"""The base of every stack-config model, and the value syntax several config sections share.

config.py, lora.py and registry.py each hold a feature's config models; they live apart from config.py
(which imports them), so the common base and patterns live here rather than in three copies.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

HF_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
COMMIT = re.compile(r"^[0-9a-f]{40}$")
GIT_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$")
HTTP_URL = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?(/\S*)?$")


class Strict(BaseModel):
    """Unknown keys are errors: a typo must never fall back to a default silently."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=False,
        frozen=True,
        validate_default=True,
    )

    def explicitly_set(self, field: str) -> bool:
        return field in self.model_fields_set
