#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Sends a raw REMOTE_PROC_CONNECT_OPEN for each URI to a daemon socket
and prints the daemon's answer (OK, or the error's code, domain and
message). Client libraries check some URIs themselves (lxc:///embed, ...)
and never send them; this shows what the daemon answers when one does.

    python3 scripts/open-uri.py SOCKET URI...
"""
import socket
import struct
import sys

PROGRAM, VERSION, PROC_OPEN = 0x20008086, 1, 1


def xdr_string(s):
    b = s.encode()
    return struct.pack(">I", len(b)) + b + b"\0" * ((4 - len(b) % 4) % 4)


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError("daemon closed the connection")
        data += chunk
    return data


def open_uri(path, uri):
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(path)
        payload = struct.pack(">I", 1) + xdr_string(uri) + struct.pack(">I", 0)
        msg = struct.pack(">IIiiIi", PROGRAM, VERSION, PROC_OPEN, 0, 1, 0) + payload
        sock.sendall(struct.pack(">I", len(msg) + 4) + msg)
        n = struct.unpack(">I", recv_exact(sock, 4))[0]
        data = recv_exact(sock, n - 4)
        status = struct.unpack(">i", data[20:24])[0]
        if status == 0:
            return "OK"
        body = data[24:]
        code, domain, has_msg = struct.unpack(">iiI", body[:12])
        text = ""
        if has_msg:
            length = struct.unpack(">I", body[12:16])[0]
            text = body[16:16 + length].decode()
        return f"code={code} domain={domain} {text}"


for u in sys.argv[2:]:
    print(u, "->", open_uri(sys.argv[1], u))
