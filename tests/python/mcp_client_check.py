#!/usr/bin/env python3
"""Check a running (or spawned) fathom server with the official MCP Python SDK client.

Exits 0 when every check passes; otherwise prints the failing check and exits 1
(2 for bad command-line usage, 3 when the connection itself cannot be made).

  --transport stdio --binary PATH --workspace WS   spawn `PATH serve --workspace WS`
  --transport http  --url URL [--token TOKEN]      connect to a streamable HTTP endpoint
  --mode legacy   initialize handshake + session (protocol 2025-11-25 or older)
  --mode modern   stateless protocol 2026-07-28 via `server/discover` (no initialize)

Run it with the interpreter from scripts/setup-test-deps: .deps/venv/bin/python.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from contextlib import AsyncExitStack
from typing import Any

import anyio

try:
    import mcp
    from mcp import Client, MCPError, StdioServerParameters
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client
    from mcp.types.version import HANDSHAKE_PROTOCOL_VERSIONS, MODERN_PROTOCOL_VERSIONS
except ImportError as exc:  # pragma: no cover - environment problem
    print(f"FAIL setup: cannot import the mcp SDK ({exc}); run scripts/setup-test-deps "
          "and use .deps/venv/bin/python", file=sys.stderr)
    sys.exit(3)

MODERN_VERSION = "2026-07-28"
TOOL = "code_search"


class CheckFailed(Exception):
    pass


def ok(name: str, detail: str = "") -> None:
    print(f"PASS {name}" + (f": {detail}" if detail else ""), flush=True)


def expect(cond: Any, name: str, msg: str) -> None:
    if not cond:
        raise CheckFailed(f"{name}: {msg}")


def text_of(result: Any) -> str:
    """Concatenate the text blocks of a CallToolResult."""
    return "\n".join(
        getattr(block, "text", "") for block in (result.content or []) if getattr(block, "type", None) == "text"
    )


def innermost(exc: BaseException) -> BaseException:
    """Unwrap the ExceptionGroups anyio task groups put around errors."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--transport", choices=["stdio", "http"], required=True)
    p.add_argument("--mode", choices=["legacy", "modern"], default="legacy")
    p.add_argument("--binary", help="fathom binary (stdio)")
    p.add_argument("--workspace", help="workspace passed to `serve --workspace` (stdio)")
    p.add_argument("--url", help="streamable HTTP endpoint, e.g. http://127.0.0.1:PORT/mcp (http)")
    p.add_argument("--token", help="bearer token sent as `Authorization: Bearer TOKEN` (http)")
    p.add_argument("--timeout", type=float, default=60.0, help="overall time limit in seconds (default 60)")
    args = p.parse_args(argv)
    if args.transport == "stdio" and not (args.binary and args.workspace):
        p.error("--transport stdio needs --binary and --workspace")
    if args.transport == "http" and not args.url:
        p.error("--transport http needs --url")
    return args


async def open_client(stack: AsyncExitStack, args: argparse.Namespace) -> Client:
    # legacy: force the initialize handshake.
    # modern: 'auto' probes server/discover first and falls back to initialize only if the
    # server does not speak 2026-07-28; check_era() below fails the run on such a fallback,
    # so this proves the server answers server/discover (a version pin would skip the probe).
    mode = "legacy" if args.mode == "legacy" else "auto"
    if args.transport == "stdio":
        # Pass the caller's whole environment (the SDK otherwise forwards only a small safe subset),
        # so a test can steer the server with RUST_LOG, FATHOM_* and the like.
        server: Any = StdioServerParameters(
            command=args.binary, args=["serve", "--workspace", args.workspace], env=dict(os.environ)
        )
    else:
        headers = {"Authorization": f"Bearer {args.token}"} if args.token else None
        http = await stack.enter_async_context(create_mcp_http_client(headers=headers))
        server = streamable_http_client(args.url, http_client=http)
    # cache=None: every list_tools must really reach the server (the "still alive" check).
    client = Client(server, mode=mode, cache=None, read_timeout_seconds=30)
    return await stack.enter_async_context(client)


def check_era(client: Client, args: argparse.Namespace) -> None:
    name = "connect"
    version = client.protocol_version
    session = client.session
    if args.mode == "legacy":
        expect(session.initialize_result is not None, name, "no initialize result after legacy connect")
        expect(version in HANDSHAKE_PROTOCOL_VERSIONS, name, f"negotiated {version!r}, not a handshake-era version")
    else:
        expect(session.discover_result is not None,
               name, f"server did not answer server/discover; client fell back to initialize ({version!r})")
        expect(version == MODERN_VERSION, name, f"negotiated {version!r}, expected {MODERN_VERSION}")
    ok(name, f"{args.transport}/{args.mode}, protocol {version}")


async def check_list_tools(client: Client, name: str = "tools/list") -> Any:
    result = await client.list_tools()
    names = [t.name for t in result.tools]
    tool = next((t for t in result.tools if t.name == TOOL), None)
    expect(tool is not None, name, f"{TOOL!r} not among tools {names}")
    assert tool is not None
    expect(isinstance(tool.input_schema, dict) and tool.input_schema.get("type") == "object",
           name, f"{TOOL} inputSchema missing or not an object schema: {tool.input_schema!r}")
    expect("query" in (tool.input_schema.get("properties") or {}),
           name, f"{TOOL} inputSchema has no 'query' property")
    expect(isinstance(tool.output_schema, dict) and tool.output_schema,
           name, f"{TOOL} has no outputSchema: {tool.output_schema!r}")
    expect(tool.annotations is not None, name, f"{TOOL} has no annotations")
    expect(tool.annotations.read_only_hint is True,
           name, f"{TOOL} annotations.readOnlyHint is {tool.annotations.read_only_hint!r}, expected true")
    ok(name, f"{len(names)} tool(s): {', '.join(names)}")
    return tool


async def check_search_literal(client: Client) -> None:
    name = "code_search literal"
    # A non-error result is also validated by the SDK against the tool's outputSchema.
    result = await client.call_tool(TOOL, {"query": "monthly_total_cents", "literal": True})
    expect(not result.is_error, name, f"isError is true: {text_of(result)[:500]!r}")
    text = text_of(result)
    expect(text.strip(), name, "no text content in the result")
    sc = result.structured_content
    expect(isinstance(sc, dict), name, f"structuredContent is not an object: {sc!r}")
    matches = sc.get("matches")
    expect(isinstance(matches, list) and matches, name, f"structuredContent.matches missing or empty: {sc!r}")
    for i, m in enumerate(matches):
        expect(isinstance(m, dict), name, f"matches[{i}] is not an object: {m!r}")
        missing = [k for k in ("path", "line", "text") if k not in m]
        expect(not missing, name, f"matches[{i}] lacks {missing}: {m!r}")
        expect(isinstance(m["path"], str) and isinstance(m["text"], str), name, f"matches[{i}] bad types: {m!r}")
        expect(isinstance(m["line"], int) and not isinstance(m["line"], bool) and m["line"] >= 1,
               name, f"matches[{i}].line is not a positive integer: {m!r}")
    hits = [m for m in matches if m["path"].replace("\\", "/").endswith("billing.ts")]
    expect(hits, name, f"no match path ends with billing.ts; paths: {sorted({m['path'] for m in matches})}")
    expect(any("monthly_total_cents" in m["text"] for m in hits),
           name, f"billing.ts match text lacks the query: {hits[0]!r}")
    ok(name, f"{len(matches)} match(es), e.g. {hits[0]['path']}:{hits[0]['line']}")


async def check_bad_regex(client: Client) -> None:
    name = "code_search bad regex"
    try:
        result = await client.call_tool(TOOL, {"query": "(unclosed"})
    except MCPError as exc:
        raise CheckFailed(f"{name}: got JSON-RPC error {exc.code} {exc.message!r}; "
                          "expected a tool result with isError true") from exc
    expect(result.is_error is True, name, f"isError is {result.is_error!r}, expected true")
    text = text_of(result)
    expect("regex" in text.lower(), name, f"error text does not mention 'regex': {text[:500]!r}")
    ok(name, text.strip().splitlines()[0][:120] if text.strip() else "")


async def check_stacks(client: Client) -> None:
    name = "stacks"
    # The SDK validates structuredContent against the published outputSchema.
    result = await client.call_tool("stacks", {})
    expect(not result.is_error, name, f"isError is true: {text_of(result)[:500]!r}")
    structured = result.structured_content
    expect(isinstance(structured, dict) and isinstance(structured.get("stacks"), list),
           name, f"structuredContent.stacks is not a list: {structured!r}")
    ids = [s.get("id") for s in structured["stacks"]]
    expect("infra" in ids, name, f"the test workspace's Terraform root `infra` is missing from {ids}")
    ok(name, f"{len(ids)} stack(s): {', '.join(map(str, ids))}")


async def check_unknown_tool(client: Client) -> None:
    name = "unknown tool"
    try:
        result = await client.call_tool("no_such_tool", {})
    except MCPError as exc:
        ok(name, f"JSON-RPC error {exc.code}: {exc.message[:120]}")
        return
    except RuntimeError as exc:
        # The SDK raises RuntimeError for result shapes it cannot use; that is not an error reply.
        raise CheckFailed(f"{name}: client error instead of a server error: {exc}") from exc
    expect(result.is_error is True, name,
           f"calling no_such_tool succeeded (isError={result.is_error!r}): {text_of(result)[:300]!r}")
    ok(name, f"isError result: {text_of(result)[:120]!r}")


async def run(args: argparse.Namespace) -> None:
    async with AsyncExitStack() as stack:
        try:
            client = await open_client(stack, args)
        except Exception as exc:
            inner = innermost(exc)
            raise CheckFailed(f"connect: {type(inner).__name__}: {inner}") from exc
        check_era(client, args)
        await check_list_tools(client)
        await check_search_literal(client)
        await check_bad_regex(client)
        await check_stacks(client)
        await check_unknown_tool(client)
        await check_list_tools(client, "tools/list after error")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.mode == "modern" and MODERN_VERSION not in MODERN_PROTOCOL_VERSIONS:
        print(f"FAIL setup: mcp {getattr(mcp, '__version__', '?')} does not speak {MODERN_VERSION}", file=sys.stderr)
        return 3

    async def bounded() -> None:
        with anyio.fail_after(args.timeout):
            await run(args)

    try:
        anyio.run(bounded)
    except CheckFailed as exc:
        print(f"FAIL {exc}", flush=True)
        return 1
    except TimeoutError:
        print(f"FAIL timeout: checks did not finish within {args.timeout:g}s", flush=True)
        return 1
    except BaseException as exc:  # noqa: BLE001 - report anything else as a failure, never as success
        if isinstance(exc, KeyboardInterrupt):
            raise
        # anyio task groups wrap errors in ExceptionGroups; show the innermost cause.
        inner = innermost(exc)
        if isinstance(inner, CheckFailed):
            print(f"FAIL {inner}", flush=True)
            return 1
        traceback.print_exception(exc, file=sys.stderr)
        print(f"FAIL unexpected {type(inner).__name__}: {inner}", flush=True)
        return 1
    print("ALL CHECKS PASSED", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
