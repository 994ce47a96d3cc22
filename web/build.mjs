// The Navigator's build: src/main.tsx and src/styles.css bundled and minified by esbuild into OUT/assets (file names
// carry a content hash, so they can be cached for ever), and OUT/index.html naming them. No CDN: everything the page
// loads comes from OUT. config.json (the API's URL, the sign-in settings) is not built: `make run` serves one it writes
// at start, and the deployment uploads one made from the stack's outputs.
//
//   node web/build.mjs [OUT]        (default web/dist)
import { build } from "esbuild";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] ?? join(here, "dist"));
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, "assets"), { recursive: true });

const result = await build({
  entryPoints: { app: join(here, "src/main.tsx"), style: join(here, "src/styles.css") },
  outdir: join(out, "assets"),
  entryNames: "[name]-[hash]",
  bundle: true,
  minify: true,
  format: "esm",
  target: ["es2022"],
  jsx: "automatic",
  jsxImportSource: "preact",
  legalComments: "none",
  charset: "utf8", // Russian text as it is, not \uXXXX escapes (module scripts are always read as UTF-8)
  metafile: true,
  logLevel: "warning",
});

const built = Object.keys(result.metafile.outputs).map((file) => relative(out, resolve(file)));
const script = built.find((file) => file.endsWith(".js"));
const style = built.find((file) => file.endsWith(".css"));
if (!script || !style) throw new Error(`esbuild wrote no script or style sheet: ${built.join(", ")}`);

const page = readFileSync(join(here, "src/index.html"), "utf8")
  .replace("{{style}}", `/${style}`)
  .replace("{{script}}", `/${script}`);
writeFileSync(join(out, "index.html"), page);
writeFileSync(join(out, "favicon.svg"), readFileSync(join(here, "src/favicon.svg")));
console.log(`web: ${basename(out)}/index.html, ${script}, ${style}`);
