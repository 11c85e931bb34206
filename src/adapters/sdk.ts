/** The AWS SDK clients and commands, loaded on first use (see vendor.ts). */
import { vendor } from "./vendor.js";

export const ecsSdk = async () => (await vendor()).ecs;
export const ecrSdk = async () => (await vendor()).ecr;
export const logsSdk = async () => (await vendor()).logs;
