"""The spec's errors: ``{"cniVersion", "code", "msg", "details"}`` on stdout, exit status 1."""

from __future__ import annotations

INCOMPATIBLE_VERSION = 1
UNSUPPORTED_FIELD = 2
UNKNOWN_CONTAINER = 3
INVALID_ENVIRONMENT = 4
IO_FAILURE = 5
UNDECODABLE = 6
INVALID_CONFIG = 7
TRY_AGAIN_LATER = 11
NOT_AVAILABLE = 50  # STATUS: the plugin cannot serve ADD now
# The plugin's own (the spec leaves 100 and above to plugins):
REFUSED = 100  # the controller refused a request (quota, policy, a conflict): its message
MISMATCH = 101  # CHECK: the pod's interface is not what its port says


class CniError(Exception):
    """What the runtime is told: a code of the spec (or ours, >= 100), a message, details."""

    def __init__(self, code: int, msg: str, details: str = "") -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.details = details

    def document(self, version: str) -> dict[str, object]:
        found: dict[str, object] = {"cniVersion": version, "code": self.code, "msg": self.msg}
        if self.details:
            found["details"] = self.details
        return found
