// Bundles the CLI into one ESM file that runs with no node_modules (Jenkins loads it with libraryResource).
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
  // CommonJS inside the bundle (smithy, commander) calls require(); an ESM file has none unless we make one.
  banner: { js: 'import { createRequire as __lgtmCreateRequire } from "node:module"; const require = __lgtmCreateRequire(import.meta.url);' },
  logLevel: "warning",
});
