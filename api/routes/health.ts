// GET /api/health: each component with status and latency, and an overall status. Unauthenticated, so
// load balancers and the start script can poll it; it reveals no configuration.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';

export type ComponentProbe = () => Promise<{ detail?: string }>;

const ComponentHealth = Type.Object({
  name: Type.String(),
  status: Type.Union([Type.Literal('up'), Type.Literal('down')]),
  latencyMs: Type.Number(),
  detail: Type.Optional(Type.String()),
});
export const HealthBody = Type.Object({
  status: Type.Union([Type.Literal('up'), Type.Literal('degraded'), Type.Literal('down')]),
  checkedAtUtcMs: Type.Number(),
  components: Type.Array(ComponentHealth),
});
export type HealthBody = Type.Static<typeof HealthBody>;

const probeTimeoutMs = 3000;

export async function checkHealth(probes: Record<string, ComponentProbe>): Promise<HealthBody> {
  const components = await Promise.all(
    Object.entries(probes).map(async ([name, probe]) => {
      const started = performance.now();
      let timer: NodeJS.Timeout | undefined;
      try {
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${probeTimeoutMs} ms`)), probeTimeoutMs);
        });
        const result = await Promise.race([probe(), timeout]);
        return { name, status: 'up' as const, latencyMs: Math.round(performance.now() - started), ...(result.detail ? { detail: result.detail } : {}) };
      } catch (error) {
        return { name, status: 'down' as const, latencyMs: Math.round(performance.now() - started), detail: (error as Error).message.slice(0, 300) };
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  const down = components.filter((c) => c.status === 'down').length;
  return { status: down === 0 ? 'up' : down === components.length ? 'down' : 'degraded', checkedAtUtcMs: Date.now(), components };
}

export const healthRoutes: FastifyPluginAsync<{ probes: Record<string, ComponentProbe> }> = async (fastify, options) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/api/health',
    { schema: { tags: ['health'], summary: 'Component health / 组件健康状态', response: { 200: HealthBody, 503: HealthBody } } },
    async (_request, reply) => {
      const health = await checkHealth(options.probes);
      return reply.status(health.status === 'up' ? 200 : 503).send(health);
    },
  );
};
