"""The bare aiohttp reference: the same responses as refbin (status, headers, body), from memory.

    python -m bench.reference_server PORT SPEC.json

SPEC: {"redirect": {"ids": FILE of "id<TAB>target" lines, "headers": {...}, "body": str},
       "pages": {"/path": {"status": 200, "headers": {...}, "body_file": FILE}}}
Runs on uvloop when it is installed, as `refbin web` does.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from aiohttp import web


def build_app(spec: dict) -> web.Application:
    targets: dict[str, str] = {}
    redirect = spec.get("redirect")
    if redirect:
        with open(redirect["ids"], encoding="utf-8") as handle:
            for line in handle:
                content_id, _, target = line.rstrip("\n").partition("\t")
                targets[content_id] = target
    headers = redirect["headers"] if redirect else {}
    body = redirect["body"].encode() if redirect else b""
    pages = {
        path: (page["status"], page["headers"], Path(page["body_file"]).read_bytes())
        for path, page in spec.get("pages", {}).items()
    }

    async def answer(request: web.Request) -> web.Response:
        page = pages.get(request.path)
        if page is not None:
            return web.Response(status=page[0], headers=page[1], body=page[2])
        target = targets.get(request.match_info["content_id"])
        if target is None:
            return web.Response(status=404)
        return web.Response(status=302, headers={**headers, "Location": target}, body=body)

    app = web.Application()
    app.router.add_get("/{content_id}", answer)
    app.router.add_get("/{content_id}/raw", answer)
    return app


def main() -> None:
    port, spec_path = int(sys.argv[1]), sys.argv[2]
    spec = json.loads(Path(spec_path).read_text())
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    print(f"reference serving on {port}", flush=True)
    web.run_app(build_app(spec), host="127.0.0.1", port=port, access_log=None, print=None)


if __name__ == "__main__":
    main()
