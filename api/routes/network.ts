// The network description and its OPC UA tag map, for the console and integrations.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { NetworkConfig } from '../../network/schema.js';
import type { NetworkConfig as Network } from '../../network/schema.js';
import { resolveTagMap } from '../../network/tags.js';
import { errorResponses } from '../schemas.js';

const ResolvedTag = Type.Object({
  objectKind: Type.String(),
  objectId: Type.String(),
  tag: Type.String(),
  nodeId: Type.String(),
  dataType: Type.String(),
  access: Type.String(),
  unit: Type.String(),
  description: Type.Object({ zh: Type.String(), en: Type.String() }),
});

export const networkRoutes: FastifyPluginAsync<{ network: Network }> = async (fastify, options) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const tags = resolveTagMap(options.network);
  app.get(
    '/api/network',
    { onRequest: app.requireRole('viewer'), schema: { tags: ['network'], summary: 'Network description / 管网配置', security: [{ bearer: [] }], response: { 200: NetworkConfig, ...errorResponses } } },
    async () => options.network,
  );
  app.get(
    '/api/network/tags',
    { onRequest: app.requireRole('viewer'), schema: { tags: ['network'], summary: 'OPC UA tag map / 点位表', security: [{ bearer: [] }], response: { 200: Type.Array(ResolvedTag), ...errorResponses } } },
    async () => tags,
  );
};
