"""Screenshots of the Dagster UI for these docs: headless Chromium over the DevTools
protocol, with Dagster's community modal dismissed.

    .venv/bin/python docs/ui/screenshot.py URL OUT.png [TAB]   (needs `apt-get install chromium`)

TAB: the text of a tab to click before the picture (e.g. "Partitions" of a check); where
several elements carry it, the last one (the innermost panel's).
"""

import asyncio
import base64
import json
import subprocess
import sys
import time
import urllib.request

import websockets

PORT = 9333


async def capture(ws_url: str, url: str, out: str, tab: str | None = None) -> None:
    async with websockets.connect(ws_url, max_size=50_000_000) as ws:
        n = 0

        async def call(method: str, **params: object) -> dict:
            nonlocal n
            n += 1
            await ws.send(json.dumps({"id": n, "method": method, "params": params}))
            while True:
                msg = json.loads(await ws.recv())
                if msg.get("id") == n:
                    return msg.get("result", {})

        await call("Page.enable")
        await call("Page.navigate", url=url)
        await asyncio.sleep(8)  # the UI loads its data over GraphQL
        skip = "[...document.querySelectorAll('button')]"
        skip += ".filter(b => b.textContent.trim() === 'Skip').forEach(b => b.click())"
        await call("Runtime.evaluate", expression=skip)
        await asyncio.sleep(2)
        if tab:
            click = "[...document.querySelectorAll('button, a, [role=tab]')]"
            click += f".filter(b => b.textContent.trim() === {json.dumps(tab)})"
            click += ".slice(-1).forEach(b => b.click())"
            await call("Runtime.evaluate", expression=click)
            await asyncio.sleep(4)
        shot = await call("Page.captureScreenshot", format="png")
        with open(out, "wb") as fh:
            fh.write(base64.b64decode(shot["data"]))


def main(url: str, out: str, tab: str | None = None) -> None:
    args = ["chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    args += ["--window-size=1500,1300", f"--remote-debugging-port={PORT}", "about:blank"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(50):
            try:
                tabs = json.load(urllib.request.urlopen(f"http://127.0.0.1:{PORT}/json"))
                break
            except OSError:
                time.sleep(0.2)
        ws_url = next(t["webSocketDebuggerUrl"] for t in tabs if t["type"] == "page")
        asyncio.run(capture(ws_url, url, out, tab))
    finally:
        proc.terminate()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
