"""A headless chromium driven over the DevTools protocol on a pipe (no extra Python package).

Chromium started with --remote-debugging-pipe reads protocol commands from its fd 3 and writes
replies and events to its fd 4, each a JSON message ended by a NUL byte.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

BINARIES = ("chromium", "chromium-browser")
FLAGS = (
    "--headless",
    "--no-sandbox",  # tests run as root, where chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--remote-debugging-pipe",
)
INSTALL = "install it with `.ci/chromium.sh` (root, Debian: apt-get install chromium)"


def chromium_binary() -> str | None:
    for name in BINARIES:
        found = shutil.which(name)
        if found:
            return found
    return None


def chromium_unavailable() -> str | None:
    """Why the browser tests cannot run here, or None if they can."""
    binary = chromium_binary()
    if binary is None:
        return f"no chromium on PATH; {INSTALL}"
    try:
        version = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"`{binary} --version` failed ({exc}); {INSTALL}"
    if version.returncode != 0:
        return f"`{binary} --version` exited {version.returncode}; {INSTALL}"
    return None


class BrowserError(RuntimeError):
    pass


def _high_fd(fd: int) -> int:
    """A copy of ``fd`` numbered 10 or above, so the child's dup2 onto 3 and 4 cannot clash."""
    high = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return high


class Chromium:
    """One headless chromium with one page, closed on exit."""

    def __init__(self, user_data_dir: Path, width: int = 1400, height: int = 1000) -> None:
        binary = chromium_binary()
        if binary is None:
            raise BrowserError(f"no chromium on PATH; {INSTALL}")
        to_browser_read, to_browser_write = map(_high_fd, os.pipe())
        from_browser_read, from_browser_write = map(_high_fd, os.pipe())

        def attach_pipes() -> None:
            # runs in the child between fork and exec: only dup2, which is async-signal-safe
            os.dup2(to_browser_read, 3)
            os.dup2(from_browser_write, 4)

        self.stderr = (user_data_dir / "chromium.log").open("wb")
        command = [
            binary,
            *FLAGS,
            f"--user-data-dir={user_data_dir}",
            f"--window-size={width},{height}",
            "about:blank",
        ]
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=self.stderr,
            stderr=self.stderr,
            pass_fds=(3, 4),
            preexec_fn=attach_pipes,
        )
        os.close(to_browser_read)
        os.close(from_browser_write)
        self.writer, self.reader = to_browser_write, from_browser_read
        self.buffer = b""
        self.next_id = 0
        self.events: list[dict[str, Any]] = []
        self.session: str | None = None
        self.width, self.height = width, height

    # --- protocol -------------------------------------------------------------------------

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError("chromium did not answer in time")
            ready, _, _ = select.select([self.reader], [], [], left)
            if ready:
                chunk = os.read(self.reader, 1 << 20)
                if not chunk:
                    raise BrowserError("chromium closed the pipe (see chromium.log)")
                self.buffer += chunk
        message, _, self.buffer = self.buffer.partition(b"\0")
        return json.loads(message)

    def send(self, method: str, timeout: float = 60.0, **params: Any) -> dict[str, Any]:
        """Send one command to the page's session (or the browser before attaching)."""
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params}
        if self.session is not None and not method.startswith("Target."):
            message["sessionId"] = self.session
        os.write(self.writer, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def wait_for_event(self, method: str, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for index, event in enumerate(self.events):
                if event["method"] == method:
                    return self.events.pop(index)
            message = self._read_message(deadline)
            if "method" in message:
                self.events.append(message)

    # --- page -----------------------------------------------------------------------------

    def open(self, url: str) -> None:
        """Attach to the page, load ``url`` and wait for its load event."""
        targets = self.send("Target.getTargets")["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        self.session = self.send("Target.attachToTarget", targetId=page["targetId"], flatten=True)[
            "sessionId"
        ]
        self.send("Page.enable")
        self.send(
            "Emulation.setDeviceMetricsOverride",
            width=self.width,
            height=self.height,
            deviceScaleFactor=1,
            mobile=False,
        )
        self.send("Page.navigate", url=url)
        self.wait_for_event("Page.loadEventFired")

    def evaluate(self, expression: str, timeout: float = 60.0) -> Any:
        """Evaluate JavaScript in the page (awaiting a promise) and return its JSON value."""
        result = self.send(
            "Runtime.evaluate",
            timeout=timeout,
            expression=expression,
            awaitPromise=True,
            returnByValue=True,
        )
        if "exceptionDetails" in result:
            raise BrowserError(f"JavaScript failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, target: Path) -> Path:
        data = self.send("Page.captureScreenshot", format="png")["data"]
        target.write_bytes(base64.b64decode(data))
        return target

    def close(self) -> None:
        try:
            if self.process.poll() is None:
                with contextlib.suppress(BrowserError, OSError):
                    self.send("Browser.close", timeout=10)
                try:
                    self.process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(timeout=20)
        finally:
            for fd in (self.writer, self.reader):
                with contextlib.suppress(OSError):
                    os.close(fd)
            self.stderr.close()

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
