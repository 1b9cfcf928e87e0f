"""Hosts for the multi-host drill: Linux network namespaces on one bridge, each with its own
network stack, loopback and hostname, reaching the services through the bridge's address.

    bridge 10.231.<n>.1 (the services: Redis, the database proxy, the test process)
      ├─ veth ── namespace "web"  10.231.<n>.10
      ├─ veth ── namespace "h1"   10.231.<n>.11
      └─ veth ── namespace "h2"   10.231.<n>.12

A process on a host runs under `ip netns exec <ns> unshare --uts`, with the host's name as its
hostname, so it sees only its own interfaces and names itself as a separate machine would.
Needs root and iproute2 (CI runs as root here); everything is removed at the end.
"""

import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Host:
    name: str
    namespace: str
    address: str

    def command(self) -> list[str]:
        """The prefix that runs a command on this host (see devtools.processes `on_host`)."""
        return [
            "ip", "netns", "exec", self.namespace,
            "unshare", "--uts", "sh", "-c", f'hostname {self.name} && exec "$@"', "on-host",
        ]  # fmt: skip


def can_make_hosts() -> bool:
    return (
        os.geteuid() == 0 and shutil.which("ip") is not None and shutil.which("unshare") is not None
    )


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


@contextmanager
def hosts(*names: str, subnet: int = 231) -> Iterator[tuple[str, dict[str, Host]]]:
    """Network namespaces named for `names` on one bridge; yields the bridge's address (where
    the services listen) and the hosts by name."""
    tag = secrets.token_hex(2)
    bridge = f"asbr{tag}"
    third = int(tag, 16) % 200 + 20  # a /24 of its own, so concurrent drills do not collide
    gateway = f"10.{subnet}.{third}.1"
    made: list[str] = []
    _ip("link", "add", bridge, "type", "bridge")
    try:
        _ip("addr", "add", f"{gateway}/24", "dev", bridge)
        _ip("link", "set", bridge, "up")
        found: dict[str, Host] = {}
        for i, name in enumerate(names):
            namespace = f"as{tag}{name}"
            outside, inside = f"as{tag}o{i}", f"as{tag}i{i}"
            _ip("netns", "add", namespace)
            made.append(namespace)
            _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
            _ip("link", "set", inside, "netns", namespace)
            _ip("link", "set", outside, "master", bridge)
            _ip("link", "set", outside, "up")
            address = f"10.{subnet}.{third}.{10 + i}"
            _ip("-n", namespace, "addr", "add", f"{address}/24", "dev", inside)
            _ip("-n", namespace, "link", "set", inside, "up")
            _ip("-n", namespace, "link", "set", "lo", "up")
            found[name] = Host(name=name, namespace=namespace, address=address)
        yield gateway, found
    finally:
        for namespace in made:  # deleting a namespace deletes its end of the veth, and the pair
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True)
        subprocess.run(["ip", "link", "del", bridge], capture_output=True)
