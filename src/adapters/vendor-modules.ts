// The third-party libraries that only some commands need. Imported only through vendor.ts.
export * as ecs from "@aws-sdk/client-ecs";
export * as ecr from "@aws-sdk/client-ecr";
export * as logs from "./vendor-logs.js";
export { execa } from "execa";
export { parse as parseYaml } from "yaml";
