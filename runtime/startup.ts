// Start-up shared by the worker and the API: settings and network validated before anything connects.
import { loadNetworkFile } from '../network/load.js';
import type { NetworkConfig } from '../network/schema.js';
import { ConfigError } from '../network/validate.js';
import { EnvError, loadEnv, type Env } from '../settings/env.js';
import { resolveFromRepo } from './paths.js';

export async function loadSettings(): Promise<{ env: Env; network: NetworkConfig }> {
  try {
    const env = loadEnv();
    const network = await loadNetworkFile(resolveFromRepo(env.NETWORK_FILE));
    return { env, network };
  } catch (error) {
    if (error instanceof EnvError || error instanceof ConfigError) {
      // Fail fast with the full list of problems, not a stack trace.
      console.error(`Cannot start: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
}
