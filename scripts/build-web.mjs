// Build the relay's browser page (src/web) into dist/web with esbuild: one ES module entry plus
// lazily loaded chunks, the stylesheet, the HTML shell, and the Opus WebAssembly that @moq/hang
// loads from next to its script in browsers without a native Opus codec (Safari). Everything the
// page needs ships in the package: no CDN, nothing downloaded at run time.
import { copyFile, mkdir, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const src = join(root, "src", "web");
const out = join(root, "dist", "web");

await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });

const result = await build({
  absWorkingDir: root,
  entryPoints: { app: join(src, "main.ts") },
  outdir: out,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "browser",
  target: "chrome120",
  minify: true,
  legalComments: "linked",
  chunkNames: "chunk-[hash]",
  tsconfig: join(src, "tsconfig.json"),
  logLevel: "warning",
  metafile: true,
});

await copyFile(join(src, "index.html"), join(out, "index.html"));
await copyFile(join(src, "app.css"), join(out, "app.css"));

// libav.js resolves its WebAssembly relative to the chunk that loads it, i.e. /page/.
const require = createRequire(import.meta.url);
const libav = dirname(require.resolve("@libav.js/variant-opus-af"));
for (const name of ["libav-6.10.9.0-opus-af.wasm.mjs", "libav-6.10.9.0-opus-af.wasm.wasm"]) {
  await copyFile(join(libav, name), join(out, name));
}

const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
process.stdout.write(`dist/web: ${Object.keys(result.metafile.outputs).length} files from esbuild, ${(bytes / 1024).toFixed(0)} KiB\n`);
