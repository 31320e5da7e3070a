"""Network namespaces for the tests: create, run a process inside, make sockets inside."""
import contextlib
import ctypes
import os
import socket
import subprocess

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


class Namespace:
    """A named namespace (`ip netns add`) with lo up and extra loopback addresses; delete() removes it."""

    def __init__(self, name, loopback_addresses=()):
        self.name = name
        subprocess.run(["ip", "netns", "add", name], check=True)
        self.ip("link", "set", "lo", "up")
        for address in loopback_addresses:
            self.ip("addr", "add", f"{address}/8", "dev", "lo")

    def ip(self, *args):
        subprocess.run(["ip", "-n", self.name, *args], check=True)

    def popen(self, argv, **kwargs):
        return subprocess.Popen(["ip", "netns", "exec", self.name, *argv], **kwargs)

    def run(self, argv, **kwargs):
        return subprocess.run(["ip", "netns", "exec", self.name, *argv], capture_output=True, text=True, **kwargs)

    @contextlib.contextmanager
    def entered(self):
        """Switches this thread into the namespace (to create sockets there) and back."""
        original = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        target = os.open(f"/run/netns/{self.name}", os.O_RDONLY)
        try:
            if _libc.setns(target, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns")
            try:
                yield
            finally:
                if _libc.setns(original, CLONE_NEWNET) != 0:
                    os._exit(99)  # a thread stuck in a foreign namespace would poison every later test
        finally:
            os.close(original)
            os.close(target)

    def socket(self, kind=socket.SOCK_DGRAM):
        with self.entered():
            return socket.socket(socket.AF_INET, kind)

    def delete(self):
        subprocess.run(["ip", "netns", "del", self.name], check=False)
