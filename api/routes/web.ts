// The dispatcher's web console: static files from web/static, served at /.
import type { FastifyPluginAsync } from 'fastify';
import fastifyStatic from '@fastify/static';
import { fileURLToPath } from 'node:url';

export const webRoot = fileURLToPath(new URL('../../web/static/', import.meta.url));

export const webRoutes: FastifyPluginAsync = async (app) => {
  await app.register(fastifyStatic, { root: webRoot, prefix: '/', index: ['index.html'], cacheControl: true, maxAge: '5m' });
};
