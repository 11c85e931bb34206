/**
 * The AWS SDK, execa and jsondiffpatch, loaded on first use. Commands that never call AWS or a subprocess (tag,
 * render, components, --help, --version) start without compiling them. In the bundle they are a second ES module
 * embedded as a data: URL (scripts/build.mjs), because V8 pays for every byte of a module it loads, used or not.
 */
export type Vendor = typeof import("./vendor-modules.js");

/** Set by the bundler to the embedded vendor module; undefined when running from source (tsx, tests). */
declare const LGTM_VENDOR_URL: string | undefined;

let loaded: Promise<Vendor> | undefined;

export function vendor(): Promise<Vendor> {
  loaded ??= typeof LGTM_VENDOR_URL === "string" ? (import(LGTM_VENDOR_URL) as Promise<Vendor>) : import("./vendor-modules.js");
  return loaded;
}
