#!/usr/bin/env python3
# Peer benchmark: Serena (PyPI `serena-agent`) answering the two queries of
# examples/bench_symbols.rs on the same code base (target/bench-symbols/src, the copy of
# `moto` that bench_symbols.rs makes), through Serena's own Python API (`solidlsp`).
#
# Install Serena outside the project (PyPI only; nothing else is downloaded):
#
#     python3 -m venv ../serena-venv
#     ../serena-venv/bin/pip install serena-agent pyright==1.1.403
#
# `pyright==1.1.403` is the version Serena pins for Python. Serena would normally start it
# with `uvx -p 3.13 --from pyright==1.1.403 pyright-langserver`, which makes uv fetch a
# CPython 3.13 build from GitHub; offline that fails, so this script points Serena's
# documented `ls_path` setting at the pyright-langserver that pip put in the venv (the PyPI
# wheel bundles pyright's JavaScript and runs it with the `node` on PATH).
#
# Run from the repository root (after `cargo run --release --example bench_symbols` has
# made the copy of moto):
#
#     ../serena-venv/bin/python examples/bench_symbols_serena.py [RUNS]
#
# What it measures, for four requests, each in a fresh language server (cold) and then
# RUNS times more on the same server (warm, default 20):
#   find_symbol       Serena's find_symbol tool path: the full symbol tree of the workspace
#                     (textDocument/documentSymbol for every file, cached in memory) searched
#                     for the name `unix_time`
#   workspace/symbol  SolidLanguageServer.request_workspace_symbol("unix_time"), the raw
#                     pyright query (closest peer of fathom's where_is)
#   references        SolidLanguageServer.request_references at moto/core/utils.py:210:4
#                     (0-based; Serena sends includeDeclaration=false)
#   find_referencing  Serena's find_referencing_symbols tool path: the symbol looked up in
#                     its file, request_referencing_symbols (the containing symbol of every
#                     reference) and a line of context around each, as the tool returns them
# cold = create + start the language server + first answer; warm = p50 / p95; count = items
# in the answer; bytes = size of the answer serialised as JSON (the tool paths are shaped
# like Serena's tool output but not grouped/rendered exactly as its MCP server does).
# Serena keeps its symbol caches in a fresh temporary directory per cold run, so nothing
# is written under the repository and every cold run starts with empty caches.

import json
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from serena.symbol import LanguageServerSymbol
from solidlsp.ls import SolidLanguageServer
from solidlsp.ls_config import LanguageServerConfig, LanguageServerId
from solidlsp.settings import SolidLSPSettings

SYMBOL = "unix_time"
DEF_FILE = "moto/core/utils.py"
DEF_LINE, DEF_COL = 210, 4  # 0-based position of the name in `def unix_time(`

REPO = Path(__file__).resolve().parent.parent
WORKSPACE = REPO / "target" / "bench-symbols" / "src"
PYRIGHT = Path(os.environ.get("SERENA_PYRIGHT", Path(sys.executable).parent / "pyright-langserver"))


def start_server(cache_dir: str) -> SolidLanguageServer:
    settings = SolidLSPSettings(
        project_data_path=cache_dir,
        ls_specific_settings={"python": {"ls_path": str(PYRIGHT)}},
    )
    config = LanguageServerConfig(ls_id=LanguageServerId.PYTHON)
    ls = SolidLanguageServer.create(config, str(WORKSPACE), solidlsp_settings=settings)
    ls.start()
    return ls


def find_symbol(ls: SolidLanguageServer) -> list:
    found = []
    for root in ls.request_full_symbol_tree():
        found.extend(LanguageServerSymbol(root).find(SYMBOL))
    return [
        s.to_dict(kind=True, name_path=True, relative_path=True, body_location=True, children_name=True, children_name_path=False)
        for s in found
    ]


def workspace_symbol(ls: SolidLanguageServer) -> list:
    return list(ls.request_workspace_symbol(SYMBOL) or [])


def references(ls: SolidLanguageServer) -> list:
    return list(ls.request_references(DEF_FILE, DEF_LINE, DEF_COL))


def find_referencing(ls: SolidLanguageServer) -> list:
    # Serena's tool first finds the named symbol in the given file, then asks at its position.
    candidates = []
    for root in ls.request_full_symbol_tree(within_relative_path=DEF_FILE):
        candidates.extend(LanguageServerSymbol(root).find(SYMBOL))
    if len(candidates) != 1:
        raise RuntimeError(f"expected one `{SYMBOL}` in {DEF_FILE}, found {len(candidates)}")
    loc = candidates[0].location
    refs = ls.request_referencing_symbols(
        relative_file_path=DEF_FILE,
        line=loc.line,
        column=loc.column,
        include_imports=False,
        include_self=False,
        include_body=False,
        include_file_symbols=True,
    )
    out = []
    for ref in refs:
        item = dict(LanguageServerSymbol(ref.symbol).to_dict(kind=True, relative_path=True, depth=0, body=False, body_location=True))
        around = ls.retrieve_content_around_line(item["relative_path"], ref.line, 1, 1)
        item["content_around_reference"] = "\n".join(line.format_line(True) for line in around.lines)
        out.append(item)
    return out


def exact_count(label: str, answer: list) -> str:
    if label == "workspace/symbol":
        exact = sum(1 for s in answer if s.get("name") == SYMBOL)
        return f"{exact} ({len(answer)} raw)"
    return str(len(answer))


def percentile(values: list, p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def measure(label: str, query, runs: int) -> dict:
    cache_dir = tempfile.mkdtemp(prefix="serena-bench-")
    ls = None
    try:
        t0 = time.perf_counter()
        ls = start_server(cache_dir)
        started = time.perf_counter() - t0
        answer = query(ls)
        cold = time.perf_counter() - t0
        cold_count = exact_count(label, answer)
        warm = []
        for _ in range(runs):
            t = time.perf_counter()
            answer = query(ls)
            warm.append(time.perf_counter() - t)
        warm_count = exact_count(label, answer)
        size = len(json.dumps(answer, default=str).encode())
    finally:
        if ls is not None:
            ls.stop()
        shutil.rmtree(cache_dir, ignore_errors=True)
    count = cold_count if cold_count == warm_count else f"{cold_count} cold / {warm_count} warm"
    return {
        "query": label,
        "start s": f"{started:.2f}",
        "cold s": f"{cold:.2f}",
        "warm p50 ms": f"{statistics.median(warm) * 1000:.1f}",
        "warm p95 ms": f"{percentile(warm, 95) * 1000:.1f}",
        "count": count,
        "bytes": str(size),
    }


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    if not (WORKSPACE / DEF_FILE).is_file():
        sys.exit(f"{WORKSPACE / DEF_FILE} is missing; run `cargo run --release --example bench_symbols` once first")
    if not PYRIGHT.exists():
        sys.exit(f"{PYRIGHT} is missing; pip install pyright==1.1.403 into Serena's venv (or set SERENA_PYRIGHT)")
    # The pyright wheel asks PyPI for its newest version at every launch unless told not to.
    os.environ.setdefault("PYRIGHT_PYTHON_IGNORE_WARNINGS", "1")
    logging.basicConfig(level=logging.ERROR)

    from importlib.metadata import version

    py_files = sum(1 for _ in WORKSPACE.rglob("*.py"))
    print(
        f"Serena {version('serena-agent')} (solidlsp) with pyright {version('pyright')}; "
        f"code base {WORKSPACE} ({py_files} Python files); symbol `{SYMBOL}` at {DEF_FILE}:{DEF_LINE}:{DEF_COL} (0-based); "
        f"{runs} warm runs; {os.cpu_count()} CPUs\n"
    )
    rows = []
    for label, query in [
        ("find_symbol", find_symbol),
        ("workspace/symbol", workspace_symbol),
        ("references", references),
        ("find_referencing", find_referencing),
    ]:
        rows.append(measure(label, query, runs))
        print(f"  done: {label}", file=sys.stderr, flush=True)

    headers = list(rows[0])
    widths = [max(len(h), *(len(r[h]) for r in rows)) for h in headers]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(r[h].ljust(w) for h, w in zip(headers, widths)))
    print(
        "\nstart s = create + start (Serena returns once pyright logs 'Found N source files', before analysis);"
        "\ncold s = start + first answer (Serena sleeps 2 s before its first position request);"
        " count for workspace/symbol = exact-name hits (raw items pyright returned)."
    )


if __name__ == "__main__":
    main()
