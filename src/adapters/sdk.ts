/**
 * The AWS SDK, loaded on first use. Commands that never call AWS (tag, render, components, --help) start without
 * evaluating it, which keeps the helper's start-up close to bare node.
 */
export const ecsSdk = () => import("@aws-sdk/client-ecs");
export const ecrSdk = () => import("@aws-sdk/client-ecr");
