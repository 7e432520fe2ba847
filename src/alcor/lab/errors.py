"""What goes wrong in a lab of simulated hosts.

LabError
├── Unusable ....... this machine cannot run a lab: not root, or tools missing
├── CommandFailed .. a command (``ip``, ``nsenter`` ...) failed; also a CalledProcessError
├── Refused ........ the controller answered a request with an error
├── NotStarted ..... a process the lab started exited, or never answered
└── TimedOut ....... something awaited did not happen in time
"""

from __future__ import annotations

import subprocess


class LabError(Exception):
    """Anything the lab cannot do; its message says what and why."""


class Unusable(LabError):
    pass


class CommandFailed(LabError, subprocess.CalledProcessError):
    def __str__(self) -> str:
        command = " ".join(str(part) for part in self.cmd)
        said = (self.stderr or self.stdout or "").strip()
        return f"`{command}` exited with {self.returncode}" + (f": {said}" if said else "")


class Refused(LabError):
    pass


class NotStarted(LabError):
    pass


class TimedOut(LabError):
    pass
