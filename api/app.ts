// The HTTP API as a Fastify plugin tree. `server.ts` only adds listening and shutdown; tests build the
// same app and call it with `inject`, no port opened.
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Client } from '@temporalio/client';
import type { NetworkConfig } from '../network/schema.js';
import type { Store } from '../store/db.js';
import { authPlugin } from './auth.js';
import { healthRoutes, type ComponentProbe } from './routes/health.js';
import { planRoutes } from './routes/plans.js';
import { floodRoutes } from './routes/flood.js';
import { networkRoutes } from './routes/network.js';
import { stateRoutes } from './routes/state.js';
import { forecastRoutes } from './routes/forecasts.js';
import { alertRoutes } from './routes/alerts.js';
import { webRoutes } from './routes/web.js';
import type { InfluxConnector } from '../connectors/influx.js';
import { ErrorBody } from './schemas.js';
import { apiServerOptions, installErrorHandling } from './errors.js';

export interface AppDependencies {
  network: NetworkConfig;
  store: Store;
  influx: InfluxConnector;
  temporal: Client;
  temporalNamespace: string;
  probes: Record<string, ComponentProbe>;
  rateLimitPerMinute?: number;
  /** A login session unused this long ends (SESSION_IDLE_MIN); default 60 min. */
  sessionIdleMs?: number;
}

/**
 * The console loads nothing from elsewhere, has no inline script or style, and is never framed. The API docs
 * page (Swagger UI) runs inline scripts of its own: it keeps only the framing and sniffing rules.
 */
export const consoleContentSecurityPolicy =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** Security headers on every answer (the console's files and the API alike). */
function securityHeaders(url: string): Record<string, string> {
  const docs = url.startsWith('/api/docs');
  return {
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'content-security-policy': docs ? "frame-ancestors 'none'" : consoleContentSecurityPolicy,
  };
}

export async function buildApp(deps: AppDependencies, options: FastifyServerOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, ...apiServerOptions, ...options }).withTypeProvider<TypeBoxTypeProvider>();
  installErrorHandling(app);
  app.addHook('onSend', async (request, reply) => {
    void reply.headers(securityHeaders(request.url));
  });

  // Keyed by request.ip: the client's own address when TRUST_PROXY names the proxy in front (server.ts).
  await app.register(rateLimit, { max: deps.rateLimitPerMinute ?? 600, timeWindow: '1 minute' });
  await app.register(swagger, {
    openapi: {
      info: { title: 'Sewer dispatch API / 污水调度接口', version: '0.1.0', description: 'Plans, approvals, live state, forecasts, alerts, flood season and health of the sewage conveyance dispatch service.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/api/docs' });
  app.addSchema({ ...ErrorBody, $id: 'ErrorBody' });

  await app.register(authPlugin, { store: deps.store, ...(deps.sessionIdleMs === undefined ? {} : { sessionIdleMs: deps.sessionIdleMs }) });
  await app.register(healthRoutes, { probes: deps.probes });
  await app.register(networkRoutes, { network: deps.network });
  await app.register(planRoutes, { network: deps.network, temporal: deps.temporal, store: deps.store, influx: deps.influx });
  await app.register(stateRoutes, { influx: deps.influx });
  await app.register(forecastRoutes, { influx: deps.influx, network: deps.network });
  await app.register(alertRoutes, { influx: deps.influx, temporal: deps.temporal, network: deps.network });
  await app.register(floodRoutes, { network: deps.network, temporal: deps.temporal, store: deps.store, influx: deps.influx });
  await app.register(webRoutes);
  return app;
}
