// The Navigator's build: src/main.tsx and src/styles.css bundled and minified by esbuild into OUT/assets (file names
// carry a content hash, so they can be cached for ever), and OUT/index.html naming them. No CDN: everything the page
// loads comes from OUT. Code splitting: the providers' and operators' pages (src/staff/, imported with `import()`)
// are a chunk of their own that a parent's browser never downloads; code both halves use goes to a shared chunk. config.json (the API's URL, the sign-in settings) is not built: `make run` serves one it writes
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
  chunkNames: "[name]-[hash]",
  splitting: true,
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

const outputs = Object.entries(result.metafile.outputs).map(([file, meta]) => ({
  file: relative(out, resolve(file)),
  entry: meta.entryPoint ? basename(meta.entryPoint) : null,
  // Chunks the file imports statically: needed before it runs.
  imports: meta.imports.filter((i) => i.kind === "import-statement" && !i.external).map((i) => relative(out, resolve(i.path))),
}));
const built = outputs.map((o) => o.file);
// The page names the entry points only; the chunks are loaded by the entry's imports.
const script = outputs.find((o) => o.entry === "main.tsx" && o.file.endsWith(".js"))?.file;
const style = outputs.find((o) => o.entry === "styles.css")?.file;
if (!script || !style) throw new Error(`esbuild wrote no script or style sheet: ${built.join(", ")}`);

// The entry's static imports are fetched with it (modulepreload), not one after the other.
const preload = (outputs.find((o) => o.file === script)?.imports ?? [])
  .map((file) => `<link rel="modulepreload" href="/${file}">`)
  .join("\n  ");
const page = readFileSync(join(here, "src/index.html"), "utf8")
  .replace("{{style}}", `/${style}`)
  .replace("{{preload}}", preload)
  .replace("{{script}}", `/${script}`);
writeFileSync(join(out, "index.html"), page);
writeFileSync(join(out, "favicon.svg"), readFileSync(join(here, "src/favicon.svg")));
const chunks = built.filter((file) => file.endsWith(".js") && file !== script);
console.log(`web: ${basename(out)}/index.html, ${script}, ${style}${chunks.length ? `, chunks ${chunks.join(", ")}` : ""}`);
