// Bytecode for the Lambda runtime's Python (CPython 3.13), compiled by CPython 3.13 itself: the WebAssembly build in
// the npm package pyodide (package.json). Bytecode depends on the Python version only, not on the machine.
//
//     node devtools/pyc.mjs FOLDER '["app.py", "chalicelib", "functions"]'
//
// runs devtools/bytecode.py as its __main__ on FOLDER (mounted into pyodide's file system) with the top-level names
// whose source stays; it prints one JSON line. Called by devtools/package.py.
import { readFileSync } from "node:fs";
import { loadPyodide } from "pyodide";

const [folder, keepSource] = process.argv.slice(2);
if (!folder || !keepSource) {
  console.error("usage: node devtools/pyc.mjs FOLDER KEEP_SOURCE_JSON");
  process.exit(2);
}
const pyodide = await loadPyodide({ stdout: (line) => console.log(line), stderr: (line) => console.error(line) });
pyodide.FS.mkdirTree("/zip");
pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: folder }, "/zip");
pyodide.globals.set("arguments", pyodide.toPy(["bytecode.py", "/zip", keepSource]));
pyodide.runPython("import sys; sys.argv = list(arguments)");
pyodide.runPython(readFileSync(new URL("./bytecode.py", import.meta.url), "utf8"));
