"""Read whole messages from a multiprocessing pipe without ever blocking the GUI thread.

``Connection.poll()`` says that *some* bytes are waiting, not that a whole message is, so a
``recv()`` after it blocks until the rest arrives; if the training process is stopped in the
middle of a send (SIGSTOP, a debugger, a machine under swap), the window would freeze. This
reader takes whatever bytes are there (``MSG_DONTWAIT``), keeps partial messages in a buffer,
and decodes complete ones. The framing is multiprocessing's own (``Connection._send_bytes``):
a 4-byte big-endian length, or -1 and an 8-byte length for messages over 2 GiB, then the
pickled object (this is the pipe between rnnviz's own two processes; files never use pickle).
"""

from __future__ import annotations

import os
import pickle
import socket
import struct
from multiprocessing.connection import Connection
from typing import Any

CHUNK = 1 << 20


class MessageReader:
    """Non-blocking reader for the receiving side of a socket-based ``Connection`` (POSIX)."""

    def __init__(self, conn: Connection) -> None:
        self._sock = socket.socket(fileno=os.dup(conn.fileno()))
        self._buffer = bytearray()
        self.eof = False

    def fileno(self) -> int:
        return self._sock.fileno()

    def read(self, limit: int = 200) -> list[Any]:
        """The complete messages that have arrived (at most ``limit``); ``eof`` once the
        other side has closed and everything before that was read."""
        while not self.eof:
            try:
                chunk = self._sock.recv(CHUNK, socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                self.eof = True
                break
            if not chunk:
                self.eof = True
                break
            self._buffer += chunk
            if len(chunk) < CHUNK:
                break
        return self._decode(limit)

    def _decode(self, limit: int) -> list[Any]:
        messages: list[Any] = []
        buffer = self._buffer
        while len(messages) < limit and len(buffer) >= 4:
            (size,) = struct.unpack_from("!i", buffer, 0)
            header = 4
            if size == -1:
                if len(buffer) < 12:
                    break
                (size,) = struct.unpack_from("!Q", buffer, 4)
                header = 12
            if len(buffer) < header + size:
                break
            messages.append(pickle.loads(bytes(buffer[header : header + size])))
            del buffer[: header + size]
        return messages

    @property
    def has_buffered(self) -> bool:
        """Complete or partial messages already read from the socket."""
        return bool(self._buffer)

    def close(self) -> None:
        self._sock.close()
