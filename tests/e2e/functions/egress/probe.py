"""Network probes run inside a sandbox for egress_test.py. The event names one operation; every
answer is JSON. Connection attempts report "connected" or why not (an errno name or "timeout")."""
import errno
import fcntl
import socket
import struct
import threading
import urllib.request

_listeners = {}


def _address(ifname):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        siocgifaddr = 0x8915
        packed = fcntl.ioctl(s.fileno(), siocgifaddr, struct.pack("256s", ifname.encode()))
        return socket.inet_ntoa(packed[20:24])
    except OSError:
        return None
    finally:
        s.close()


def _gateway():
    with open("/proc/net/route") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[1] == "00000000":
                return socket.inet_ntoa(struct.pack("<I", int(fields[2], 16)))
    return None


def _connect(host, port, timeout):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect((host, port))
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        return "connected"
    except socket.timeout:
        return "timeout"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e))
    finally:
        s.close()


def _serve(listener):
    while True:
        conn, _ = listener.accept()
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
        conn.close()


def handler(event, context):
    op = event["op"]
    if op == "info":
        with open("/etc/resolv.conf") as f:
            resolv = f.read()
        return {"interfaces": sorted(n for _, n in socket.if_nameindex()),
                "address": _address("eth0"), "gateway": _gateway(), "resolv_conf": resolv}
    if op == "fetch":
        try:
            with urllib.request.urlopen(event["url"], timeout=event.get("timeout", 5)) as r:
                return {"status": r.status, "body": r.read().decode()}
        except Exception as e:  # the test asserts on the text
            return {"error": repr(e)}
    if op == "resolve":
        try:
            return {"address": socket.gethostbyname(event["name"])}
        except OSError as e:
            return {"error": repr(e)}
    if op == "connect":
        return {f"{h}:{p}": _connect(h, p, event.get("timeout", 2)) for h, p in event["targets"]}
    if op == "udp":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(event.get("timeout", 3))
        try:
            s.sendto(event["data"].encode(), (event["host"], event["port"]))
            data, _ = s.recvfrom(512)
            return {"reply": data.decode()}
        except OSError as e:
            return {"error": repr(e)}
        finally:
            s.close()
    if op == "ping":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
        s.settimeout(event.get("timeout", 3))
        try:
            s.sendto(struct.pack("!BBHHH", 8, 0, 0, 0, 1) + b"gust", (event["host"], 0))
            data, _ = s.recvfrom(512)
            return {"reply_type": data[0]}
        except OSError as e:
            return {"error": repr(e)}
        finally:
            s.close()
    if op == "listen":
        port = event["port"]
        if port not in _listeners:
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("0.0.0.0", port))
            listener.listen(8)
            threading.Thread(target=_serve, args=(listener,), daemon=True).start()
            _listeners[port] = listener
        return {"address": _address("eth0"), "self": _connect(_address("eth0"), port, 2)}
    raise ValueError("unknown op " + op)
