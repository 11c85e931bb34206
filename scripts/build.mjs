// Bundles the CLI into one ESM file that runs with no node_modules (Jenkins loads it with libraryResource).
//
// One pass, one file. The libraries only some commands need (src/adapters/vendor-modules.ts: the AWS SDK, execa) and
// the emulator are reached through dynamic import(); esbuild keeps them in the same file but wraps them in lazily run
// module initialisers, so `--version`, `tag` and `render` do not run their top-level code. (An earlier build embedded
// them as a base64 data: URL module: faster to start, but every stack frame then carried the whole module.)
import { build } from "esbuild";
import { readFileSync } from "node:fs";
import { builtinModules } from "node:module";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
const src = readFileSync(new URL("../src/version.ts", import.meta.url), "utf8");
if (!src.includes(`"${pkg.version}"`)) throw new Error(`src/version.ts does not match package.json version ${pkg.version}`);

await build({
  entryPoints: ["src/cli.ts"],
  outfile: "resources/lgtm/lgtm-deploy.mjs",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  // The AWS SDK's ES builds are smaller and start faster.
  mainFields: ["module", "main"],
  minify: true,
  legalComments: "none",
  logLevel: "warning",
  // commander and parts of the SDK (smithy) are CommonJS and call require(); an ES module has none.
  banner: { js: 'import { createRequire as __lgtmCreateRequire } from "node:module"; const require = __lgtmCreateRequire(import.meta.url);' },
  plugins: [lazyBuiltins()],
});

/**
 * Node built-ins through require(), not `import`: esbuild must hoist every `import` to the top of the one file, so
 * node:http, node:child_process, node:zlib... would load at start-up even for code that never runs (and on Node 22+
 * importing node:http also loads undici). As require() calls they load when the module that needs them first runs.
 */
function lazyBuiltins() {
  const names = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
  return {
    name: "lazy-builtins",
    setup(b) {
      b.onResolve({ filter: /^[a-z_:/0-9]+$/ }, (args) => (names.has(args.path) && args.kind === "import-statement" ? { path: args.path, namespace: "lazy-builtin" } : undefined));
      b.onLoad({ filter: /.*/, namespace: "lazy-builtin" }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});`, loader: "js" }));
    },
  };
}
