"""A small client of the controller's Neutron API for labs: each change waits until the engine
took it in and every host of the lab acknowledged what it was given, so what follows a call sees
the data plane programmed."""

from __future__ import annotations

import http.client
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any

import msgspec

from alcor.lab import errors, waiting


def _no_hosts() -> Iterable[str]:
    return ()


class Neutron:
    """The API at ``url`` (``http://HOST:PORT``). ``hosts()`` names the hosts whose agents run:
    those a change waits for."""

    def __init__(
        self,
        url: str,
        *,
        hosts: Callable[[], Iterable[str]] = _no_hosts,
        timeout: float = 30.0,
    ) -> None:
        self.url = url
        self.hosts = hosts
        self.timeout = timeout
        parts = urllib.parse.urlsplit(url)
        self._address = (parts.hostname or "127.0.0.1", parts.port or 80)

    def request(
        self, method: str, path: str, body: Any = None, *, project: str = ""
    ) -> tuple[int, bytes]:
        """One request to ``/v2.0<path>`` (as admin of ``project`` if given): status, body."""
        headers = {"Content-Type": "application/json"}
        if project:
            headers |= {"X-Project-Id": project, "X-Roles": "admin"}
        encoded = None if body is None else msgspec.json.encode(body)
        connection = http.client.HTTPConnection(*self._address, timeout=self.timeout)
        try:
            connection.request(method, "/v2.0" + path, body=encoded, headers=headers)
            answer = connection.getresponse()
            return answer.status, answer.read()
        except (OSError, http.client.HTTPException) as error:
            raise errors.Refused(f"{method} {path}: {self.url} did not answer: {error}") from None
        finally:
            connection.close()

    def call(self, method: str, path: str, body: Any = None, *, project: str = "") -> Any:
        """The decoded answer (None if empty); ``Refused`` unless 2xx. A change (not GET) returns
        once it is converged."""
        since = self.revision() if method != "GET" else 0
        status, content = self.request(method, path, body, project=project)
        if status >= 300:
            text = content.decode(errors="replace")
            raise errors.Refused(f"{method} {path}: {status} {text}")
        if method != "GET":
            self.converge(since)
        return msgspec.json.decode(content) if content else None

    # --- the goal-state engine and the hosts ----------------------------------------------------

    def revision(self) -> int:
        return int(self.call("GET", "/goalstate")["goalstate"]["revision"])

    def host_report(self, host_id: str) -> dict[str, Any] | None:
        status, content = self.request("GET", f"/goalstate/hosts/{host_id}")
        return dict(msgspec.json.decode(content)["host"]) if status == 200 else None

    def wait_connected(self, host_id: str, *, what: str = "") -> None:
        def connected() -> bool:
            report = self.host_report(host_id)
            return bool(report and report["connected"])

        waiting.eventually(connected, what=what or f"{host_id} to connect")

    def converge(self, since: int) -> None:
        """Wait until the engine took in a change after ``since`` and every host of ``hosts()``
        acknowledged everything it was given."""
        waiting.eventually(lambda: self.revision() > since, what="the change to reach the engine")

        def acknowledged() -> bool:
            for host_id in self.hosts():
                report = self.host_report(host_id)
                if not report or not report["connected"] or report["lag"]:
                    return False
            return True

        waiting.eventually(acknowledged, what="every host to acknowledge")

    # --- resources --------------------------------------------------------------------------------

    def network(self, *, name: str, project: str = "") -> str:
        body = {"network": {"name": name}}
        return str(self.call("POST", "/networks", body, project=project)["network"]["id"])

    def subnet(self, network_id: str, cidr: str, *, name: str = "", project: str = "") -> str:
        subnet = {"network_id": network_id, "cidr": cidr, "ip_version": 6 if ":" in cidr else 4}
        if name:
            subnet["name"] = name
        return str(
            self.call("POST", "/subnets", {"subnet": subnet}, project=project)["subnet"]["id"]
        )

    def router(self, *subnets: str, name: str = "", project: str = "") -> str:
        body = {"router": {"name": name} if name else {}}
        router_id = str(self.call("POST", "/routers", body, project=project)["router"]["id"])
        for subnet_id in subnets:
            path = f"/routers/{router_id}/add_router_interface"
            self.call("PUT", path, {"subnet_id": subnet_id}, project=project)
        return router_id

    def group(self, *rules: dict[str, Any], name: str, project: str = "") -> str:
        """A security group (with Neutron's default egress rules) and these ingress rules."""
        body = {"security_group": {"name": name}}
        answer = self.call("POST", "/security-groups", body, project=project)
        group_id = str(answer["security_group"]["id"])
        for rule in rules:
            self.rule(group_id, project=project, **rule)
        return group_id

    def rule(self, group_id: str, *, project: str = "", **rule: Any) -> str:
        body = {
            "security_group_rule": {
                "security_group_id": group_id,
                "direction": "ingress",
                "ethertype": "IPv4",
                **rule,
            }
        }
        answer = self.call("POST", "/security-group-rules", body, project=project)
        return str(answer["security_group_rule"]["id"])

    def port(
        self,
        subnet_id: str,
        ip: str,
        host_id: str,
        *,
        groups: list[str] | None = None,
        project: str = "",
        active: bool = True,
        **extra: Any,
    ) -> str:
        """A port with ``ip`` on the subnet (and ``more_ips``: (subnet, address) pairs), bound to
        the host; once ACTIVE unless ``active`` is false."""
        subnet = self.call("GET", f"/subnets/{subnet_id}", project=project)["subnet"]
        fixed = [{"subnet_id": subnet_id, "ip_address": ip}]
        fixed += [{"subnet_id": s, "ip_address": a} for s, a in extra.pop("more_ips", ())]
        port: dict[str, Any] = {
            "network_id": subnet["network_id"],
            "fixed_ips": fixed,
            "binding:host_id": host_id,
            "device_owner": "compute:nova",
            **extra,
        }
        if groups is not None:
            port["security_groups"] = groups
        port_id = str(self.call("POST", "/ports", {"port": port}, project=project)["port"]["id"])
        if active:
            self.wait_status(port_id, "ACTIVE", project=project)
        return port_id

    def wait_status(self, port_id: str, status: str, *, project: str = "") -> None:
        waiting.eventually(
            lambda: (
                self.call("GET", f"/ports/{port_id}", project=project)["port"]["status"] == status
            ),
            what=f"port {port_id} {status}",
        )
