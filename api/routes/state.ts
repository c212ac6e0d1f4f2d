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

const kinds = ['station', 'tank', 'plant', 'interconnection', 'analyser'] as const;

export const stateRoutes: FastifyPluginAsync<{ influx: InfluxConnector }> = async (fastify, options) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/api/state',
    { preHandler: app.requireRole('viewer'), schema: { tags: ['state'], summary: 'Latest telemetry per object / 实时状态', security: [{ bearer: [] }], response: { 200: LiveStateBody, ...errorResponses } } },
    async () => {
      const objects: Type.Static<typeof ObjectState>[] = [];
      const series = await options.influx.query(kinds.map((k) => `SELECT last(*) FROM "${k}" WHERE time > now() - 1d GROUP BY "id"`).join('; '));
      for (const s of series) {
        const row = s.values[0];
        if (!row) continue;
        const values: Record<string, number | boolean | string | null> = {};
        s.columns.forEach((column, i) => {
          if (column === 'time') return;
          values[column.replace(/^last_/, '')] = row[i] as number | boolean | string | null;
        });
        objects.push({ objectKind: s.name, objectId: s.tags['id'] ?? '', timeUtcMs: Number(row[0]), values });
      }
      return { objects };
    },
  );
};
