"""Headless Chromium (Debian's ``chromium``) driven over the DevTools protocol, for browser tests.

No Playwright or Selenium: the protocol is JSON over one websocket (``websockets``, already in the
environment), and a test needs a handful of commands: navigate, evaluate JavaScript in the page,
wait for a condition, take a screenshot. Nothing is downloaded; the browser runs with a profile of
its own in the test's folder and is killed with its process group by :meth:`Browser.close`.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

from tests.servers.sshd import free_port, wait_for_port

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class BrowserError(RuntimeError):
    pass


class Browser:
    def __init__(self, folder: Path, width: int = 1400, height: int = 900) -> None:
        if CHROMIUM is None:
            raise BrowserError("chromium is not installed: run scripts/system-packages.sh")
        self.port = free_port()
        profile = folder / "chromium-profile"
        profile.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                CHROMIUM,
                "--headless=new",
                "--no-sandbox",  # the tests run as root
                "--disable-gpu",
                "--no-first-run",
                "--disable-extensions",
                "--disable-background-networking",
                f"--remote-debugging-port={self.port}",
                "--remote-debugging-address=127.0.0.1",
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=(folder / "chromium.log").open("ab"),
            start_new_session=True,
        )
        wait_for_port(self.port, 30)
        self._ids = itertools.count(1)
        self._socket: ClientConnection = connect(self._page_socket(), max_size=64 * 1024 * 1024)
        self.call("Page.enable")
        self.call("Runtime.enable")
        self.call(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )

    def _page_socket(self) -> str:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError, ValueError):
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/list", timeout=5) as reply:
                    pages = [t for t in json.load(reply) if t.get("type") == "page"]
                if pages:
                    return pages[0]["webSocketDebuggerUrl"]
            if time.monotonic() > deadline:
                raise BrowserError("chromium opened no page to drive")
            time.sleep(0.2)

    def call(self, method: str, **params: Any) -> dict:
        """One DevTools command; its result (events that arrive meanwhile are dropped)."""
        number = next(self._ids)
        self._socket.send(json.dumps({"id": number, "method": method, "params": params}))
        while True:
            message = json.loads(self._socket.recv(timeout=60))
            if message.get("id") == number:
                if "error" in message:
                    raise BrowserError(f"{method}: {message['error']}")
                return message.get("result", {})

    def js(self, expression: str) -> Any:
        """The value of ``expression`` in the page (promises awaited)."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression[:80]}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30.0, what: str | None = None) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(BrowserError):
                value = self.js(expression)
                if value:
                    return value
            if time.monotonic() > deadline:
                url = self.js("location.href")
                raise BrowserError(f"timed out waiting for {what or expression} at {url}")
            time.sleep(0.25)

    def goto(self, url: str, timeout: float = 30.0) -> None:
        self.call("Page.navigate", url=url)
        time.sleep(0.2)
        self.wait_for("document.readyState === 'complete'", timeout, f"{url} to load")

    def screenshot(self, path: Path) -> Path:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._socket.close()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
