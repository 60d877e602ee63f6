"""Headless Chromium driven over the DevTools protocol, with the standard
library only (no websocket package, no npm): start the browser on loopback,
open one page, evaluate JavaScript in it, take screenshots, stop it.

    with Browser(profile_dir) as browser:
        page = browser.open("http://127.0.0.1:9466/")
        page.evaluate("document.title")
        page.screenshot("shot.png")
"""
import base64
import json
import os
import signal
import socket
import struct
import subprocess
import time
import urllib.request


class CdpError(Exception):
    pass


class WebSocket:
    """A client websocket (RFC 6455) for one CDP target: text frames, masked."""

    def __init__(self, url, timeout):
        assert url.startswith("ws://"), url
        host_port, _, path = url[len("ws://"):].partition("/")
        host, _, port = host_port.partition(":")
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        request = (f"GET /{path} HTTP/1.1\r\nHost: {host_port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
        self.sock.sendall(request.encode())
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise CdpError("the browser closed the websocket during the handshake")
            answer += chunk
        head, _, self.pending = answer.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            raise CdpError(f"websocket handshake refused: {head[:200]!r}")

    def _read(self, count):
        while len(self.pending) < count:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise CdpError("the browser closed the websocket")
            self.pending += chunk
        data, self.pending = self.pending[:count], self.pending[count:]
        return data

    def send(self, text):
        payload = text.encode()
        header = bytes([0x81])
        if len(payload) < 126:
            header += bytes([0x80 | len(payload)])
        elif len(payload) < 1 << 16:
            header += bytes([0x80 | 126]) + struct.pack(">H", len(payload))
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", len(payload))
        mask = os.urandom(4)
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def receive(self):
        message = b""
        while True:
            first, second = self._read(2)
            length = second & 0x7F
            if length == 126:
                length = struct.unpack(">H", self._read(2))[0]
            elif length == 127:
                length = struct.unpack(">Q", self._read(8))[0]
            data = self._read(length)
            opcode = first & 0x0F
            if opcode == 0x8:
                raise CdpError("the browser closed the websocket")
            if opcode in (0x9, 0xA):  # ping/pong: not part of a message
                continue
            message += data
            if first & 0x80:
                return message.decode()

    def close(self):
        self.sock.close()


class Page:
    def __init__(self, ws_url, timeout):
        self.ws = WebSocket(ws_url, timeout)
        self.next_id = 0
        self.requests = []  # (method, url) of every request the page sent, once Network is enabled

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:  # events arrive in between: requests are noted, the rest skipped
            reply = json.loads(self.ws.receive())
            if reply.get("method") == "Network.requestWillBeSent" and len(self.requests) < 100000:
                request = reply["params"]["request"]
                self.requests.append((request["method"], request["url"]))
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise CdpError(f"{method}: {reply['error']}")
                return reply["result"]

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise CdpError(f"{expression[:80]}: {result['exceptionDetails'].get('text')} "
                           f"{result['exceptionDetails'].get('exception', {}).get('description', '')}")
        return result["result"].get("value")

    def wait_for(self, what, expression, limit):
        """Polls `expression` until it is truthy, at most `limit` seconds; returns its value."""
        deadline = time.monotonic() + limit
        value = None
        while time.monotonic() < deadline:
            try:
                value = self.evaluate(expression)
            except CdpError as error:  # e.g. the document is still loading
                value = str(error)
            else:
                if value:
                    return value
            time.sleep(0.25)
        raise CdpError(f"{what}: not so within {limit} s (last value {value!r})")

    def screenshot(self, path, width, height):
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))


class Browser:
    """Chromium with its own profile directory, DevTools on a loopback port it picks."""

    def __init__(self, profile, binary="chromium", timeout=20):
        self.profile, self.binary, self.timeout = profile, binary, timeout
        self.process = None

    def __enter__(self):
        os.makedirs(self.profile, exist_ok=True)
        # --no-sandbox: CI runs as root, where Chromium's sandbox cannot start.
        self.process = subprocess.Popen(
            [self.binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", f"--user-data-dir={self.profile}",
             "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-sync",
             "--disable-background-networking", "--disable-component-update", "--mute-audio",
             "--window-size=1280,1000", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.profile, "chromium.log"), "wb"),
            start_new_session=True)
        port_file = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.monotonic() + self.timeout
        while not os.path.exists(port_file) or os.path.getsize(port_file) == 0:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise CdpError(f"chromium did not open its DevTools port (see {self.profile}/chromium.log)")
            time.sleep(0.1)
        self.port = int(open(port_file).read().split()[0])
        return self

    def open(self, url):
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/list", timeout=self.timeout))
        target = next(t for t in targets if t["type"] == "page")
        page = Page(target["webSocketDebuggerUrl"], self.timeout)
        page.call("Page.enable")
        page.call("Network.enable")
        page.call("Page.navigate", url=url)
        return page

    def __exit__(self, *exc):
        # Our own process group (start_new_session), never anything else.
        if self.process and self.process.pid > 1:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        return False
