import type { Register } from "./context.js";
import { registerComponents } from "./components.js";

/** Every CLI command, one file each. */
export const COMMANDS: Register[] = [registerComponents];
