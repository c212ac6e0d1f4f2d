// The dispatch heartbeat: while this worker runs, every station's watchdog tag is refreshed well inside
// the PLC's timeout, so stations keep the last approved setpoints. When the worker (or its link) dies,
// the heartbeat stops and each PLC falls back to its own level control — the fail-safe the PLC owns.
import type { OpcUaConnector } from '../connectors/opcua.js';
import type { NetworkConfig } from '../network/schema.js';
import { resolveTagMap } from '../network/tags.js';

export interface HeartbeatOptions {
  network: NetworkConfig;
  opcua: OpcUaConnector;
  /** Default a quarter of the watchdog timeout, so three beats may be lost before the PLC gives up. */
  intervalMs?: number;
  onError?: (error: Error) => void;
}

export interface HeartbeatKeeper {
  beats(): number;
  failures(): number;
  stop(): Promise<void>;
}

export function startHeartbeat(options: HeartbeatOptions): HeartbeatKeeper {
  const intervalMs = options.intervalMs ?? (options.network.opcua.watchdogTimeoutS * 1000) / 4;
  const tags = resolveTagMap(options.network).filter((t) => t.objectKind === 'station' && t.tag === 'heartbeat');
  let counter = Math.floor(Date.now() / 1000);
  let beats = 0;
  let failures = 0;
  let stopped = false;
  let inFlight: Promise<void> = Promise.resolve();

  const beat = async () => {
    counter = (counter + 1) >>> 0;
    try {
      const outcomes = await options.opcua.writeSetpoints(tags.map((tag) => ({ tag, value: counter })));
      const bad = outcomes.filter((o) => !o.good);
      if (bad.length > 0) throw new Error(`heartbeat refused for ${bad.map((o) => `${o.nodeId} (${o.statusCode})`).join(', ')}`);
      beats++;
    } catch (error) {
      failures++;
      options.onError?.(error as Error);
    }
  };
  const timer = setInterval(() => {
    if (!stopped) inFlight = inFlight.then(beat);
  }, intervalMs);
  inFlight = beat();

  return {
    beats: () => beats,
    failures: () => failures,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await inFlight;
    },
  };
}
