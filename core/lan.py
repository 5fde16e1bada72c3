"""The classroom server's address on the local network, and a QR code of it for the terminal.

`python app.py --host 0.0.0.0` (or `scripts/start.sh --host 0.0.0.0`) prints the URL students
type, and the same URL as a QR code they can scan. Finding the address sends no packet: a UDP
socket is "connected" to a private address only so the OS picks the outgoing interface.
"""
from __future__ import annotations

import socket


def lan_address() -> str | None:
    """This machine's address on its main network interface, or None without a network."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))  # no packet is sent for a UDP connect
            addr = s.getsockname()[0]
        except OSError:
            return None
    return None if addr.startswith("127.") or addr == "0.0.0.0" else addr


def student_url(host: str, port: int, path: str = "/") -> str | None:
    """The URL students open: the LAN address when serving on every interface (0.0.0.0)."""
    if host in ("0.0.0.0", "::", ""):
        addr = lan_address()
        return f"http://{addr}:{port}{path}" if addr else None
    if host.startswith("127.") or host == "localhost":
        return None  # only this machine can reach it
    return f"http://{host}:{port}{path}"


def qr_lines(url: str) -> str:
    """`url` as a QR code drawn with Unicode half blocks (two rows per line), quiet zone included."""
    import segno

    qr = segno.make(url, error="m")
    rows = [[bool(v) for v in row] for row in qr.matrix_iter(scale=1, border=2)]
    if len(rows) % 2:
        rows.append([False] * len(rows[0]))
    chars = {(False, False): "█", (True, True): " ", (True, False): "▄", (False, True): "▀"}
    # Light background drawn as blocks, dark modules as spaces: reads on dark terminals.
    return "\n".join("".join(chars[(top, bottom)] for top, bottom in zip(rows[i], rows[i + 1]))
                     for i in range(0, len(rows), 2))


def banner(host: str, port: int) -> str:
    """What the server prints for the class: the URL, its QR code, and a hint when unreachable."""
    url = student_url(host, port)
    if url is None:
        if host in ("0.0.0.0", "::", ""):
            return "No network address found: students cannot reach this machine. Connect it to the class network."
        return f"Serving on {host}:{port}, this machine only. For a classroom: --host 0.0.0.0"
    return f"Students open: {url}\n\n{qr_lines(url)}\n\n{url}"
