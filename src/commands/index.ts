import type { Register } from "./context.js";
import { registerComponents } from "./components.js";
import { registerRender } from "./render.js";
import { registerTag } from "./tag.js";
import { registerVersion } from "./version.js";

/** Every CLI command, one file each. */
export const COMMANDS: Register[] = [registerComponents, registerTag, registerVersion, registerRender];
