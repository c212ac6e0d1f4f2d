// Reading a network file from disk: the only I/O of the network model.
import { readFile } from 'node:fs/promises';
import { ConfigError, parseNetwork } from './validate.js';
import type { NetworkConfig } from './schema.js';

export async function loadNetworkFile(filePath: string): Promise<NetworkConfig> {
  let text: string;
  try {
    text = await readFile(filePath, 'utf8');
  } catch (error) {
    throw new ConfigError(filePath, [{ path: '', value: filePath, reason: `cannot read file: ${(error as Error).message}` }]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(filePath, [{ path: '', value: undefined, reason: `not valid JSON: ${(error as Error).message}` }]);
  }
  return parseNetwork(json, filePath);
}

/** The reference network that demos, tests and benchmarks start from. */
export const referenceNetworkPath = new URL('../config/reference-network.json', import.meta.url).pathname;
