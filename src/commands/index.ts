import type { Register } from "./context.js";
import { registerBuild } from "./build.js";
import { registerCheck } from "./check.js";
import { registerComponents } from "./components.js";
import { registerCost } from "./cost.js";
import { registerCutover } from "./cutover.js";
import { registerDeploy } from "./deploy.js";
import { registerDiff } from "./diff.js";
import { registerEmulator } from "./emulator.js";
import { registerEnv } from "./env.js";
import { registerMigrate } from "./migrate.js";
import { registerRehearse } from "./rehearse.js";
import { registerRender } from "./render.js";
import { registerRollback } from "./rollback.js";
import { registerStatus } from "./status.js";
import { registerTag } from "./tag.js";
import { registerVersion } from "./version.js";

/** Every CLI command, one file each. */
export const COMMANDS: Register[] = [registerComponents, registerTag, registerVersion, registerRender, registerBuild, registerDeploy, registerRollback, registerStatus, registerDiff, registerEmulator, registerRehearse, registerEnv, registerCost, registerCheck, registerMigrate, registerCutover];
