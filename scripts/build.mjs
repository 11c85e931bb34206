// Bundles the CLI into one ESM file that runs with no node_modules (Jenkins loads it with libraryResource).
//
// One file. The libraries only some commands need (src/adapters/vendor-modules.ts: the AWS SDK, execa, yaml) are built
// first, on their own, and kept in the bundle as a string that vm compiles on first use (vendorAsString below): start-up
// then only scans that string instead of pre-parsing it (bench/README.md section 4). The emulator and other parts are
// reached through dynamic import(); esbuild keeps them in the same file but wraps them in lazily run module
// initialisers, so `--version`, `tag` and `render` do not run their top-level code. (An earlier build embedded the
// vendor part as a base64 data: URL module: every stack frame then carried the whole module.)
import { build } from "esbuild";
import { readFileSync } from "node:fs";
import { builtinModules } from "node:module";

const common = {
  bundle: true,
  platform: "node",
  target: "node20",
  // The AWS SDK's ES builds are smaller and start faster.
  mainFields: ["module", "main"],
  minify: true,
  legalComments: "none",
  logLevel: "warning",
};

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
const src = readFileSync(new URL("../src/version.ts", import.meta.url), "utf8");
if (!src.includes(`"${pkg.version}"`)) throw new Error(`src/version.ts does not match package.json version ${pkg.version}`);

// The vendor libraries (src/adapters/vendor-modules.ts) as one CommonJS function body, kept in the bundle as a string.
// Their import("node:...") calls become require() too: code compiled by vm has no dynamic import() of its own.
const vendorJs = (await build({ ...common, entryPoints: ["src/adapters/vendor-modules.ts"], format: "cjs", write: false, plugins: [lazyBuiltins(["import-statement", "dynamic-import"])] })).outputFiles[0].text;

await build({
  ...common,
  entryPoints: ["src/cli.ts"],
  outfile: "resources/lgtm/lgtm-deploy.mjs",
  format: "esm",
  // commander and parts of the SDK (smithy) are CommonJS and call require(); an ES module has none.
  // The first statement listens for SIGTERM/SIGINT, so that one arriving while the bundle is still being evaluated
  // does not end the process by Node's default action (exit by signal, the record path untouched): Node delivers it
  // once evaluation is over, when main() (src/cli.ts, called synchronously at the end) has put its own handler in
  // place of this one. Only Node's own start-up and the parse (~70 ms) stay unguarded.
  banner: { js: 'globalThis.__lgtmEarlyHandler = () => {}; process.on("SIGTERM", globalThis.__lgtmEarlyHandler); process.on("SIGINT", globalThis.__lgtmEarlyHandler); import { createRequire as __lgtmCreateRequire } from "node:module"; const require = __lgtmCreateRequire(import.meta.url); const __lgtmBundleUrl = import.meta.url;' },
  // (__lgtmBundleUrl: vendorAsString's module must not use import.meta itself, which would make it an ES module.)
  plugins: [lazyBuiltins(), vendorAsString(vendorJs)],
});

/**
 * vendor-modules.js (the AWS SDK, execa, yaml: ~2/3 of the bundle) as a string literal, compiled by vm on first use.
 * V8 only scans a string at start-up, whereas it pre-parses every function of plain code, so commands that never
 * touch AWS or a subprocess start faster. The vm filename `<bundle>#vendor` keeps stack frames short and named (the
 * earlier data: URL embedding put the whole module into every frame). Line:column in those frames refer to the string.
 */
function vendorAsString(code) {
  return {
    name: "vendor-as-string",
    setup(b) {
      b.onResolve({ filter: /[/]vendor-modules\.js$/ }, (args) => ({ path: args.path, namespace: "vendor-string" }));
      b.onLoad({ filter: /.*/, namespace: "vendor-string" }, () => ({
        loader: "js",
        contents: [
          `const code = ${JSON.stringify(code)};`,
          `const filename = require("node:url").fileURLToPath(__lgtmBundleUrl) + "#vendor";`,
          `const init = require("node:vm").runInThisContext("(function (exports, require, module) {" + code + "\\n})", { filename });`,
          `init(module.exports, require, module);`,
        ].join("\n"),
      }));
    },
  };
}

/**
 * Node built-ins through require(), not `import`: esbuild must hoist every `import` to the top of the one file, so
 * node:http, node:child_process, node:zlib... would load at start-up even for code that never runs (and on Node 22+
 * importing node:http also loads undici). As require() calls they load when the module that needs them first runs.
 */
function lazyBuiltins(kinds = ["import-statement"]) {
  const names = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
  return {
    name: "lazy-builtins",
    setup(b) {
      b.onResolve({ filter: /^[a-z_:/0-9]+$/ }, (args) => (names.has(args.path) && kinds.includes(args.kind) ? { path: args.path, namespace: "lazy-builtin" } : undefined));
      b.onLoad({ filter: /.*/, namespace: "lazy-builtin" }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});`, loader: "js" }));
    },
  };
}
