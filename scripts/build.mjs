// Bundles the CLI into one ESM file that runs with no node_modules (Jenkins loads it with libraryResource).
//
// Two passes: the libraries only some commands need (src/adapters/vendor-modules.ts: AWS SDK, execa, jsondiffpatch)
// are bundled into their own module first and embedded in the main file as a data: URL, imported on first use.
// V8 scans a string literal far faster than it parses the code, so `--version`, `tag` and `render` start quickly.
import { build } from "esbuild";
import { readFileSync } from "node:fs";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
const src = readFileSync(new URL("../src/version.ts", import.meta.url), "utf8");
if (!src.includes(`"${pkg.version}"`)) throw new Error(`src/version.ts does not match package.json version ${pkg.version}`);

const common = {
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  // The AWS SDK's ES builds are smaller and start faster.
  mainFields: ["module", "main"],
  minify: true,
  legalComments: "none",
  logLevel: "warning",
};

const vendor = await build({
  ...common,
  entryPoints: ["src/adapters/vendor-modules.ts"],
  write: false,
  outfile: "vendor.mjs",
  // CommonJS inside (smithy) calls require(); an ESM module has none. A data: URL module has no file URL, so the
  // require is anchored at the running script; only node: built-ins are required through it.
  banner: { js: 'import { createRequire as __lgtmCreateRequire } from "node:module"; const require = __lgtmCreateRequire(process.argv[1] || process.execPath);' },
});
const vendorUrl = `data:text/javascript;base64,${Buffer.from(vendor.outputFiles[0].contents).toString("base64")}`;

await build({
  ...common,
  entryPoints: ["src/cli.ts"],
  outfile: "resources/lgtm/lgtm-deploy.mjs",
  define: { LGTM_VENDOR_URL: JSON.stringify(vendorUrl) },
  plugins: [
    {
      // The source-tree import of the vendor module is never taken in the bundle (LGTM_VENDOR_URL is defined).
      name: "embedded-vendor",
      setup(b) {
        b.onResolve({ filter: /\/vendor-modules\.js$/ }, () => ({ path: "lgtm-vendor-modules-not-bundled", external: true }));
        // esbuild would otherwise inline the data: URL module and undo the point of embedding it.
        b.onResolve({ filter: /^data:/ }, (args) => ({ path: args.path, external: true }));
      },
    },
  ],
  // commander is CommonJS too.
  banner: { js: 'import { createRequire as __lgtmCreateRequire } from "node:module"; const require = __lgtmCreateRequire(import.meta.url);' },
});
