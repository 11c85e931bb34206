/**
 * The AWS SDK and execa, loaded on first use. Commands that never call AWS or a subprocess (tag, render, components,
 * --help, --version) do not run their module code; in the one-file bundle this module is a string that vm compiles
 * on this first import (scripts/build.mjs, vendorAsString).
 */
export type Vendor = typeof import("./vendor-modules.js");

let loaded: Promise<Vendor> | undefined;

export function vendor(): Promise<Vendor> {
  loaded ??= import("./vendor-modules.js");
  return loaded;
}
