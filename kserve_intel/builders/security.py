"""Security contexts shared by every vLLM pod.

Restricted Pod Security profile: non-root, no privilege escalation,
RuntimeDefault seccomp, all capabilities dropped. The only exception is the
Gaudi capability trio, added back on Gaudi platforms alone.
"""

from __future__ import annotations

from typing import Any

# A high UID/GID with no meaning on the host (checkov CKV_K8S_40 wants >= 10000).
RUN_AS_USER = 10001


def pod_security_context() -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": RUN_AS_USER,
        "runAsGroup": RUN_AS_USER,
        # Makes the model-cache volume writable by the non-root user.
        "fsGroup": RUN_AS_USER,
        "fsGroupChangePolicy": "OnRootMismatch",
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context(capabilities: tuple[str, ...]) -> dict[str, Any]:
    caps: dict[str, Any] = {"drop": ["ALL"]}
    if capabilities:
        caps["add"] = list(capabilities)
    return {
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": RUN_AS_USER,
        "runAsGroup": RUN_AS_USER,
        "capabilities": caps,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
