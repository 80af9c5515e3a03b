#!/usr/bin/env python3
"""Approve and decline a cloud write with the official MCP Python SDK as the client.

The SDK's elicitation callback stands for the person: it accepts the first request and
declines the second. Exits 0 and prints ALL CHECKS PASSED when both behave; whether the
commands really ran is checked by the calling test against moto.

  (--binary PATH --workspace WS | --url URL) --integration NAME --mode legacy|modern
  --accept-bucket NAME --decline-bucket NAME

Run it with .deps/venv/bin/python (scripts/setup-test-deps).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import anyio

try:
    from mcp import Client, StdioServerParameters
    from mcp.client.streamable_http import streamable_http_client
    import mcp.types as types
except ImportError as exc:  # pragma: no cover - environment problem
    print(f"FAIL setup: cannot import the mcp SDK ({exc}); run scripts/setup-test-deps", file=sys.stderr)
    sys.exit(3)


class Person:
    """Answers elicitations: accept while `accept` is set, else decline; keeps the messages."""

    def __init__(self) -> None:
        self.accept = True
        self.messages: list[str] = []

    async def __call__(self, context: Any, params: Any) -> Any:
        if not isinstance(params, types.ElicitRequestFormParams):
            return types.ErrorData(code=types.INVALID_REQUEST, message="only form elicitation expected")
        self.messages.append(params.message)
        if self.accept:
            return types.ElicitResult(action="accept", content={"approve": True})
        return types.ElicitResult(action="decline")


def text_of(result: Any) -> str:
    return "\n".join(getattr(b, "text", "") for b in (result.content or []) if getattr(b, "type", None) == "text")


def fail(msg: str) -> None:
    print(f"FAIL {msg}", flush=True)
    sys.exit(1)


async def run(args: argparse.Namespace) -> None:
    person = Person()
    if args.url:
        server: Any = streamable_http_client(args.url)
    else:
        server = StdioServerParameters(
            command=args.binary, args=["serve", "--workspace", args.workspace], env=dict(os.environ)
        )
    mode = "legacy" if args.mode == "legacy" else "auto"
    async with Client(server, mode=mode, elicitation_callback=person, read_timeout_seconds=60) as client:
        if args.mode == "modern" and client.session.discover_result is None:
            fail("server did not answer server/discover")
        create = ["s3api", "create-bucket", "--bucket"]
        result = await client.call_tool("cloud_run", {"integration": args.integration, "args": create + [args.accept_bucket]})
        if result.is_error:
            fail(f"accepted write did not run: {text_of(result)[:400]!r}")
        if len(person.messages) != 1 or args.accept_bucket not in person.messages[0]:
            fail(f"the person was not shown the exact command: {person.messages!r}")
        print(f"PASS accepted ({args.mode}): {text_of(result).splitlines()[0]}", flush=True)
        person.accept = False
        result = await client.call_tool("cloud_run", {"integration": args.integration, "args": create + [args.decline_bucket]})
        if not result.is_error or "declined" not in text_of(result):
            fail(f"declined write was not refused: {text_of(result)[:400]!r}")
        print(f"PASS declined ({args.mode})", flush=True)
    print("ALL CHECKS PASSED", flush=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for flag in ["--integration", "--accept-bucket", "--decline-bucket"]:
        p.add_argument(flag, required=True)
    p.add_argument("--binary")
    p.add_argument("--workspace")
    p.add_argument("--url")
    p.add_argument("--mode", choices=["legacy", "modern"], default="legacy")
    args = p.parse_args()
    if not args.url and not (args.binary and args.workspace):
        p.error("give --url, or --binary and --workspace")

    async def bounded() -> None:
        with anyio.fail_after(120):
            await run(args)

    anyio.run(bounded)
    return 0


if __name__ == "__main__":
    sys.exit(main())
