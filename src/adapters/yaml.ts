/** YAML parsing, loaded on first use with the other vendored libraries (vendor.ts). */
import { InvalidInputError } from "../core/errors.js";
import { vendor } from "./vendor.js";

/** Parses YAML text; a syntax error becomes one line naming the file. */
export async function parseYamlText(text: string, file: string): Promise<unknown> {
  const { parseYaml } = await vendor();
  try {
    return parseYaml(text, { maxAliasCount: 100 });
  } catch (error) {
    const message = (error as Error).message.split("\n")[0];
    throw new InvalidInputError(`${file}: invalid YAML: ${message}`);
  }
}
