// SCADA in memory for the dispatch activities' unit tests: every tag of the network with a value (stations
// REMOTE unless `modes` says otherwise, everything else 0), writes kept and applied, stations in `refusing`
// rejecting writes, and `modeStatus` giving a station's mode reading a status other than Good (value null).
import type { TagReading } from '../../activities/types.js';
import type { OpcUaConnector, SetpointWrite } from '../../connectors/opcua.js';
import type { NetworkConfig } from '../../network/schema.js';
import { StationMode, resolveTagMap } from '../../network/tags.js';

export function memoryScada(network: NetworkConfig, nowUtcMs: number, options: { modes?: Record<string, number>; modeStatus?: Record<string, string> } = {}) {
  const { modes = {}, modeStatus = {} } = options;
  const values = new Map<string, number>();
  for (const t of resolveTagMap(network)) values.set(t.nodeId, t.tag === 'mode' ? (modes[t.objectId] ?? StationMode.remote) : 0);
  const writes: SetpointWrite[] = [];
  const refusing = new Set<string>();
  const opcua: OpcUaConnector = {
    readTags: async (tags) =>
      tags.map((t): TagReading => {
        const bad = t.tag === 'mode' ? modeStatus[t.objectId] : undefined;
        return bad
          ? { objectId: t.objectId, tag: t.tag, nodeId: t.nodeId, value: null, statusCode: bad, good: false, sourceTimeUtcMs: nowUtcMs }
          : { objectId: t.objectId, tag: t.tag, nodeId: t.nodeId, value: values.get(t.nodeId) ?? null, statusCode: 'Good', good: true, sourceTimeUtcMs: nowUtcMs };
      }),
    writeSetpoints: async (ws) =>
      ws.map((w) => {
        if (refusing.has(w.tag.objectId)) return { nodeId: w.tag.nodeId, statusCode: 'BadNoCommunication', good: false };
        writes.push(w);
        values.set(w.tag.nodeId, w.value);
        return { nodeId: w.tag.nodeId, statusCode: 'Good', good: true };
      }),
    ping: async () => ({ latencyMs: 0, serverState: 'Running' }),
    close: async () => undefined,
  };
  return { opcua, values, writes, refusing };
}
