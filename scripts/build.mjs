// Bundles the CLI into one ESM file that runs with no node_modules (Jenkins loads it with libraryResource).
//
// One pass, one file. The libraries only some commands need (src/adapters/vendor-modules.ts: the AWS SDK, execa) and
// the emulator are reached through dynamic import(); esbuild keeps them in the same file but wraps them in lazily run
// module initialisers, so `--version`, `tag` and `render` do not run their top-level code. (An earlier build embedded
// them as a base64 data: URL module: faster to start, but every stack frame then carried the whole module.)
import { build } from "esbuild";
import { readFileSync } from "node:fs";

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
});
