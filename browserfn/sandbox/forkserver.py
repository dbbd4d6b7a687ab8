"""The fork server: `python -m browserfn.sandbox.forkserver FD`.

It imports once what functions use (notte_sdk alone costs ~2 s), then forks a fresh supervisor
for each request, in a few milliseconds: every run still gets a new process that dies after
it, but none pays for interpreter start-up or imports.

Protocol on the Unix socket FD, shared with the server:
- it sends b"R" once warm;
- each request is one byte with three file descriptors attached (the supervisor's stdin, stdout
  and stderr); it answers the new supervisor's pid as a decimal line.
It exits when the server closes the socket. Its children are session leaders and are reaped by
the kernel (SIGCHLD ignored here); a supervisor notices a dead server through its stdin.

Imports: stdlib and browserfn.sandbox only.
"""

from __future__ import annotations

import os
import signal
import socket
import sys

from browserfn.sandbox import supervisor

REQUEST_FDS = 3


def _become_supervisor(fds: list[int], sock: socket.socket) -> None:  # pragma: no cover - forked child
    sock.close()
    os.setsid()
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    code = 70
    try:
        code = supervisor.main()
    finally:
        os._exit(code)


def serve(sock: socket.socket) -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps our children
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sock.sendall(b"R")
    while True:
        message, fds, _, _ = socket.recv_fds(sock, 1, REQUEST_FDS)
        if not message:
            return  # the server is gone
        if len(fds) != REQUEST_FDS:
            for fd in fds:
                os.close(fd)
            sock.sendall(b"0\n")
            continue
        pid = os.fork()
        if pid == 0:
            _become_supervisor(fds, sock)
        for fd in fds:
            os.close(fd)
        sock.sendall(f"{pid}\n".encode())


def main() -> int:
    sock = socket.socket(fileno=int(sys.argv[1]))
    supervisor.warm_up()
    serve(sock)
    return 0


if __name__ == "__main__":
    sys.exit(main())
