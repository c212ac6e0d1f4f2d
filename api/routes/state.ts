// Live state: the latest telemetry of every object, as stored in InfluxDB by the dispatch cycle and ingest.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { InfluxConnector } from '../../connectors/influx.js';
import { errorResponses } from '../schemas.js';

const ObjectState = Type.Object({
  objectKind: Type.String(),
  objectId: Type.String(),
  timeUtcMs: Type.Number(),
  values: Type.Record(Type.String(), Type.Union([Type.Number(), Type.Boolean(), Type.String(), Type.Null()])),
});
export const LiveStateBody = Type.Object({ objects: Type.Array(ObjectState) });
export type LiveStateBody = Type.Static<typeof LiveStateBody>;

const kinds = ['station', 'tank', 'plant', 'interconnection', 'analyser'] as const;

/** The newest sample of every object within the last day. */
export async function readLiveState(influx: InfluxConnector): Promise<LiveStateBody> {
  const objects: Type.Static<typeof ObjectState>[] = [];
  // last(*) gives each field's latest value, but with several selectors InfluxQL stamps the row with the
  // start of the query range; the time of the newest row is asked for separately.
  const window = 'WHERE time > now() - 1d GROUP BY "id"';
  const [values, newest] = await Promise.all([
    influx.query(kinds.map((k) => `SELECT last(*) FROM "${k}" ${window}`).join('; ')),
    influx.query(kinds.map((k) => `SELECT * FROM "${k}" ${window} ORDER BY time DESC LIMIT 1`).join('; ')),
  ]);
  const newestTime = new Map(newest.map((s) => [`${s.name}/${s.tags['id'] ?? ''}`, Number(s.values[0]?.[0])]));
  for (const s of values) {
    const row = s.values[0];
    if (!row) continue;
    const fields: Record<string, number | boolean | string | null> = {};
    s.columns.forEach((column, i) => {
      if (column === 'time') return;
      fields[column.replace(/^last_/, '')] = row[i] as number | boolean | string | null;
    });
    const objectId = s.tags['id'] ?? '';
    objects.push({ objectKind: s.name, objectId, timeUtcMs: newestTime.get(`${s.name}/${objectId}`) ?? Number(row[0]), values: fields });
  }
  return { objects };
}

export const stateRoutes: FastifyPluginAsync<{ influx: InfluxConnector }> = async (fastify, options) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/api/state',
    { onRequest: app.requireRole('viewer'), schema: { tags: ['state'], summary: 'Latest telemetry per object / 实时状态', security: [{ bearer: [] }], response: { 200: LiveStateBody, ...errorResponses } } },
    async () => readLiveState(options.influx),
  );
};
