// The OPC UA tag map: every measurement and setpoint of every object, with its NodeId, data type and unit.
// Simulator (server) and dispatch (client) both derive their tags from here, so a utility maps its own
// SCADA names by editing the network file (nodeIdTemplate and per-object `tags` overrides), not code.
import type { NetworkConfig, QualityParameter } from './schema.js';

export type TagDataType = 'Double' | 'Int32' | 'UInt32' | 'Boolean';
export type TagAccess = 'read' | 'write';
export type TaggedObjectKind = 'station' | 'interconnection' | 'tank' | 'plant' | 'analyser';

export interface TagDefinition {
  tag: string;
  dataType: TagDataType;
  access: TagAccess;
  unit: string;
  description: { zh: string; en: string };
}

/** Station control mode reported by the PLC. LOCAL ignores remote setpoints. */
export const StationMode = { local: 0, remote: 1 } as const;
/** Which remote setpoint the PLC follows when in REMOTE mode and the watchdog is fresh. */
export const RemoteControl = { levelBand: 0, flow: 1 } as const;

const d = (tag: string, dataType: TagDataType, access: TagAccess, unit: string, zh: string, en: string): TagDefinition => ({
  tag,
  dataType,
  access,
  unit,
  description: { zh, en },
});

export const stationTags: readonly TagDefinition[] = [
  d('levelM', 'Double', 'read', 'm', '液位', 'Wet-well level'),
  d('inflowM3h', 'Double', 'read', 'm3/h', '进水流量', 'Inflow'),
  d('outflowM3h', 'Double', 'read', 'm3/h', '出水流量', 'Pumped flow'),
  d('overflowM3h', 'Double', 'read', 'm3/h', '溢流流量', 'Overflow (SSO) flow'),
  d('pumpsRunning', 'Int32', 'read', '', '运行泵数', 'Pumps running'),
  d('pumpsAvailable', 'Int32', 'read', '', '可用泵数', 'Pumps available'),
  d('mode', 'Int32', 'read', '', '控制模式(0本地/1远程)', 'Control mode (0 LOCAL, 1 REMOTE)'),
  d('remoteActive', 'Boolean', 'read', '', '远程设定生效', 'Remote setpoints in force (REMOTE and watchdog fresh)'),
  d('energyKwh', 'Double', 'read', 'kWh', '累计电耗', 'Energy counter'),
  d('pumpStarts', 'UInt32', 'read', '', '累计启泵次数', 'Pump start counter'),
  d('startLevelSpM', 'Double', 'write', 'm', '远程启泵液位', 'Remote start level'),
  d('stopLevelSpM', 'Double', 'write', 'm', '远程停泵液位', 'Remote stop level'),
  d('flowSpM3h', 'Double', 'write', 'm3/h', '远程流量设定', 'Remote flow setpoint'),
  d('pumpsAllowedSp', 'Int32', 'write', '', '允许运行泵数', 'Pumps allowed'),
  d('remoteControlSp', 'Int32', 'write', '', '远程控制方式(0液位/1流量)', 'Remote control (0 level band, 1 flow)'),
  d('heartbeat', 'UInt32', 'write', '', '调度心跳', 'Dispatch heartbeat (watchdog)'),
];

export const interconnectionTags: readonly TagDefinition[] = [
  d('transferM3h', 'Double', 'read', 'm3/h', '互联输送流量', 'Transfer flow (positive a→b)'),
  d('transferSpM3h', 'Double', 'write', 'm3/h', '互联输送设定', 'Transfer setpoint (positive a→b)'),
];

export const tankTags: readonly TagDefinition[] = [
  d('levelM', 'Double', 'read', 'm', '液位', 'Tank level'),
  d('volumeM3', 'Double', 'read', 'm3', '蓄水量', 'Stored volume'),
  d('inletM3h', 'Double', 'read', 'm3/h', '进水流量', 'Inlet flow'),
  d('outletM3h', 'Double', 'read', 'm3/h', '出水流量', 'Outlet / return flow'),
  d('overflowM3h', 'Double', 'read', 'm3/h', '溢流流量', 'Weir overflow'),
  d('inletSpM3h', 'Double', 'write', 'm3/h', '进水闸设定', 'Inlet gate setpoint'),
  d('outletSpM3h', 'Double', 'write', 'm3/h', '回抽/出水设定', 'Return / outlet setpoint'),
];

export const plantTags: readonly TagDefinition[] = [
  d('inflowM3h', 'Double', 'read', 'm3/h', '进厂流量', 'Plant inflow'),
  d('bypassM3h', 'Double', 'read', 'm3/h', '超越流量', 'Bypass above capacity'),
];

const qualityUnits: Record<QualityParameter, { unit: string; zh: string; en: string }> = {
  codMgL: { unit: 'mg/L', zh: '化学需氧量', en: 'COD' },
  nh3nMgL: { unit: 'mg/L', zh: '氨氮', en: 'NH3-N' },
  tpMgL: { unit: 'mg/L', zh: '总磷', en: 'Total phosphorus' },
  tnMgL: { unit: 'mg/L', zh: '总氮', en: 'Total nitrogen' },
  ssMgL: { unit: 'mg/L', zh: '悬浮物', en: 'Suspended solids' },
  ph: { unit: 'pH', zh: 'pH值', en: 'pH' },
};

export function analyserTags(parameters: readonly QualityParameter[]): TagDefinition[] {
  return parameters.map((p) => d(p, 'Double', 'read', qualityUnits[p].unit, qualityUnits[p].zh, qualityUnits[p].en));
}

export interface ResolvedTag extends TagDefinition {
  objectKind: TaggedObjectKind;
  objectId: string;
  nodeId: string;
}

export interface TaggedObject {
  kind: TaggedObjectKind;
  id: string;
  /** JSON path of the object in the network file, for error messages. */
  path: string;
  defs: readonly TagDefinition[];
  overrides: Record<string, string> | undefined;
}

/** Every object that has tags, with its tag definitions and the file's overrides, in a stable order. */
export function taggedObjects(network: NetworkConfig): TaggedObject[] {
  return [
    ...network.stations.map((s, i) => ({ kind: 'station' as const, id: s.id, path: `/stations/${i}`, defs: stationTags, overrides: s.tags })),
    ...network.interconnections.map((x, i) => ({ kind: 'interconnection' as const, id: x.id, path: `/interconnections/${i}`, defs: interconnectionTags, overrides: x.tags })),
    ...network.tanks.map((t, i) => ({ kind: 'tank' as const, id: t.id, path: `/tanks/${i}`, defs: tankTags, overrides: t.tags })),
    ...network.plants.map((p, i) => ({ kind: 'plant' as const, id: p.id, path: `/plants/${i}`, defs: plantTags, overrides: p.tags })),
    ...network.analysers.map((a, i) => ({ kind: 'analyser' as const, id: a.id, path: `/analysers/${i}`, defs: analyserTags(a.parameters), overrides: a.tags })),
  ];
}

/**
 * Every tag of the network with its resolved NodeId, in a stable order. The network's cross-check refuses
 * override keys that are not tag names and NodeIds shared by two tags, so this map is one-to-one.
 */
export function resolveTagMap(network: NetworkConfig): ResolvedTag[] {
  return taggedObjects(network).flatMap((o) =>
    o.defs.map((def) => ({ ...def, objectKind: o.kind, objectId: o.id, nodeId: o.overrides?.[def.tag] ?? network.opcua.nodeIdTemplate.replaceAll('{id}', o.id).replaceAll('{tag}', def.tag) })),
  );
}

/** Lookup of NodeIds by object id and tag name; throws a clear error for an unknown pair. */
export function tagIndex(tags: readonly ResolvedTag[]): (objectId: string, tag: string) => ResolvedTag {
  const byKey = new Map(tags.map((t) => [`${t.objectId}/${t.tag}`, t]));
  return (objectId, tag) => {
    const found = byKey.get(`${objectId}/${tag}`);
    if (!found) throw new Error(`No tag "${tag}" for object "${objectId}" in the tag map`);
    return found;
  };
}
