"""Compiles a folder's modules to bytecode for the Python that runs this (standard library only).

The same code runs here (this machine's Python, for the host's twin zip) and inside CPython 3.13 as WebAssembly
(devtools/pyc.mjs, for Lambda's python3.13), so both zips are laid out alike:

- our own code (``keep_source``: app.py, chalicelib/, functions/) keeps its source, with
  ``__pycache__/<module>.<tag>.pyc`` beside it, so tracebacks show our lines;
- everything else (the dependencies) becomes *sourceless*: ``module.pyc`` where ``module.py`` was, and no source.
  Python imports such a file directly (SourcelessFileLoader); the zip carries each dependency module once instead of
  twice. Their tracebacks give file and line, without the line's text.

Every pyc is *unchecked-hash*: valid whatever the files' timestamps, which a zip resets; its file name in tracebacks
is where Lambda has it (``/var/task/...``). A module that does not compile (code for another Python) keeps its
source only.
"""

from __future__ import annotations

import importlib.util
import json
import os
import py_compile
import sys

TASK = "/var/task"


def compile_tree(folder: str, keep_source: list[str]) -> dict[str, object]:
    compiled = sourceless = failed = 0
    for path, folders, files in os.walk(folder):
        folders[:] = sorted(name for name in folders if name != "__pycache__")
        for name in sorted(files):
            if not name.endswith(".py"):
                continue
            source = os.path.join(path, name)
            relative = os.path.relpath(source, folder).replace(os.sep, "/")
            ours = relative.split("/", 1)[0] in keep_source
            target = importlib.util.cache_from_source(source) if ours else source[:-3] + ".pyc"
            try:
                py_compile.compile(
                    source,
                    cfile=target,
                    dfile=f"{TASK}/{relative}",
                    doraise=True,
                    invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
                )
            except py_compile.PyCompileError:
                failed += 1
                continue
            compiled += 1
            if not ours:
                os.remove(source)
                sourceless += 1
    return {
        "version": sys.version.split()[0],
        "cache_tag": sys.implementation.cache_tag,
        "magic": importlib.util.MAGIC_NUMBER.hex(),
        "compiled": compiled,
        "sourceless": sourceless,
        "failed": failed,
    }


if __name__ == "__main__":
    print(json.dumps(compile_tree(sys.argv[1], json.loads(sys.argv[2]))))
