// The production compose file and Grafana provisioning: the services a utility runs, every app setting
// passed to ingest, the worker and the API, ingest's spool on a volume and its stop grace period, Grafana
// wired to the provisioning and dashboards folders.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { defaultSpoolDir } from '../../ingest/service.js';
import { INGEST_STOP_DEADLINE_MS } from '../../ingest/shutdown.js';
import { STATE_FILE, writeStateFile, type IngestStateFile } from '../../ingest/state.js';
import { envVariableNames } from '../../settings/env.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const infra = path.join(repoRoot, 'infra');

interface ComposeService {
  image?: string;
  build?: { context?: string; dockerfile?: string } | string;
  command?: string[] | string;
  environment?: Record<string, string | number | boolean | null> | string[];
  volumes?: (string | { source?: string; target?: string })[];
  depends_on?: Record<string, { condition?: string }> | string[];
  healthcheck?: { test?: string[] | string };
  stop_grace_period?: string;
  hostname?: string;
}

interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

const readYaml = <T>(file: string): T => parse(fs.readFileSync(file, 'utf8')) as T;
const compose = readYaml<ComposeFile>(path.join(infra, 'compose.yaml'));
const service = (name: string): ComposeService => {
  const s = compose.services[name];
  assert.ok(s, `service ${name} is defined`);
  return s;
};

function environment(s: ComposeService): Record<string, string> {
  const env = s.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((entry) => [entry.split('=')[0] ?? entry, entry.includes('=') ? entry.slice(entry.indexOf('=') + 1) : '']));
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

/** Bind mounts as [source resolved against infra/, target]. */
function bindMounts(s: ComposeService): [string, string][] {
  return (s.volumes ?? []).flatMap((v): [string, string][] => {
    const [source, target] = typeof v === 'string' ? v.split(':') : [v.source, v.target];
    if (!source || !target || !/^[./]/.test(source)) return [];
    return [[path.resolve(infra, source), target]];
  });
}

void describe('infra/compose.yaml', () => {
  void test('names the services a utility runs', () => {
    for (const name of ['postgresql', 'temporal', 'temporal-ui', 'influxdb', 'grafana', 'ingest', 'worker', 'api']) service(name);
  });

  for (const name of ['ingest', 'worker', 'api']) {
    void test(`${name} sets every variable of settings/env.ts`, () => {
      const env = environment(service(name));
      const missing = envVariableNames.filter((v) => !(v in env));
      assert.deepEqual(missing, [], `missing in ${name}.environment`);
      assert.equal(env['TEMPORAL_ADDRESS'], 'temporal:7233');
      assert.equal(env['INFLUX_URL'], 'http://influxdb:8086');
      assert.equal(env['INFLUX_DATABASE'], 'sewer');
      assert.match(env['DATABASE_URL'] ?? '', /^postgres:\/\/.*@postgresql:5432\//);
      assert.equal(env['API_HOST'], '0.0.0.0', 'the API listens beyond the container loopback');
    });

    void test(`${name} takes secrets from the .env file, never from the compose file`, () => {
      const env = environment(service(name));
      assert.match(env['INFLUX_TOKEN'] ?? '', /\$\{INFLUX_ADMIN_TOKEN:\?/);
      assert.match(env['DATABASE_URL'] ?? '', /\$\{APP_DB_PASSWORD:\?/);
      assert.match(env['OPCUA_PASSWORD'] ?? '', /^\$\{OPCUA_PASSWORD/);
    });

    void test(`${name} is built from infra/Dockerfile and runs npm run ${name}`, () => {
      const s = service(name);
      assert.deepEqual(s.build, { context: '..', dockerfile: 'infra/Dockerfile' });
      assert.ok(fs.existsSync(path.join(infra, 'Dockerfile')));
      assert.deepEqual(s.command, ['npm', 'run', name]);
      assert.equal(s.image, service('worker').image, 'the same image as the others');
      const scripts = (JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
      assert.match(scripts[name] ?? '', new RegExp(`^tsx ${name === 'api' ? 'api/server' : `${name}/main`}\\.ts$`), `package.json has the ${name} script`);
    });
  }

  for (const name of ['worker', 'api']) {
    void test(`${name} waits for healthy dependencies`, () => {
      const deps = service(name).depends_on as Record<string, { condition?: string }>;
      for (const dep of ['postgresql', 'temporal', 'influxdb']) assert.equal(deps[dep]?.condition, 'service_healthy', `${name} waits for ${dep}`);
    });
  }

  void test('ingest keeps its spool on a named volume, mounted where the app writes it, writable by the app user', () => {
    const s = service('ingest');
    // The image's WORKDIR is /app, the repository root: the spool folder inside the container.
    const target = path.posix.join('/app', path.relative(repoRoot, defaultSpoolDir).split(path.sep).join('/'));
    assert.equal(target, '/app/.data/spool');
    const mount = (s.volumes ?? []).map((v) => (typeof v === 'string' ? v.split(':') : [v.source, v.target])).find(([, t]) => t === target);
    assert.ok(mount, `a volume is mounted at ${target}`);
    const source = mount[0] ?? '';
    assert.match(source, /^[a-z][a-z0-9_-]*$/, `a named volume, not a bind mount or an anonymous one (${source})`);
    assert.ok(compose.volumes && source in compose.volumes, `volume ${source} is declared`);
    const dockerfile = fs.readFileSync(path.join(infra, 'Dockerfile'), 'utf8');
    assert.match(dockerfile, /^RUN mkdir -p \.data\/spool( [^&\n]+)? && chown -R node:node \.data$/m, 'the image has the folder, owned by node, so the new volume is too');
    assert.match(dockerfile, /^USER node$/m);
    assert.ok(s.hostname, 'a fixed host name, so a re-created container can judge the lock left by its predecessor');
    assert.ok((s.depends_on as Record<string, { condition?: string }>)['influxdb'], 'starts after InfluxDB');
  });

  void test("ingest's healthcheck reads the state file ingest writes: healthy only while it is fresh and subscribed", () => {
    const check = service('ingest').healthcheck?.test;
    assert.ok(Array.isArray(check) && check[0] === 'CMD' && check[1] === 'node' && check[2] === '-e', 'a node -e healthcheck');
    const script = check[3]!;
    assert.ok(script.includes(`/app/.data/spool/${STATE_FILE}`), 'reads the spool volume\'s state file');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ingest-health-'));
    try {
      const run = (state: IngestStateFile | null) => {
        if (state) writeStateFile(dir, state);
        else fs.rmSync(path.join(dir, STATE_FILE), { force: true });
        return spawnSync(process.execPath, ['-e', script.replace(`/app/.data/spool/${STATE_FILE}`, path.join(dir, STATE_FILE))]).status;
      };
      const status = { state: 'subscribed', lastPublishAtUtcMs: Date.now(), mode: 'direct', dropped: 0, spoolPending: 0, lastError: null };
      const base: IngestStateFile = { version: 1, wallUtcMs: Date.now(), networkUtcMs: null, networkAtWallUtcMs: null, running: true, flags: [], status };
      assert.equal(run(base), 0, 'fresh and subscribed');
      assert.equal(run({ ...base, wallUtcMs: Date.now() - 60_000 }), 1, 'stale');
      assert.equal(run({ ...base, running: false }), 1, 'stopped');
      assert.equal(run({ ...base, status: { ...status, state: 'reconnecting' } }), 1, 'not subscribed');
      assert.equal(run(null), 1, 'no state file');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  void test("ingest's stop grace period is longer than its own shutdown deadline", () => {
    const grace = service('ingest').stop_grace_period ?? '10s';
    const m = /^(?:(\d+)m)?(?:(\d+)s)?$/.exec(grace);
    assert.ok(m && (m[1] || m[2]), `stop_grace_period ${grace} in the form 1m30s`);
    const graceMs = (Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0)) * 1000;
    assert.ok(graceMs >= INGEST_STOP_DEADLINE_MS + 5_000, `${graceMs} ms ≥ ${INGEST_STOP_DEADLINE_MS} ms + 5 s`);
  });

  void test('ingest, the worker and the API share one OPC UA certificate folder on a named volume, and trust the server explicitly', () => {
    for (const name of ['ingest', 'worker', 'api']) {
      const s = service(name);
      const env = environment(s);
      assert.equal(env['OPCUA_PKI_DIR'], '.data/pki', `${name}: OPCUA_PKI_DIR`);
      assert.match(env['OPCUA_ACCEPT_UNKNOWN_SERVER_CERT'] ?? '', /^\$\{OPCUA_ACCEPT_UNKNOWN_SERVER_CERT:-false\}$/, `${name}: unknown server certificates refused by default`);
      const mounts = (s.volumes ?? []).map((v) => (typeof v === 'string' ? v : `${v.source}:${v.target}`));
      assert.ok(mounts.includes('opcua-pki:/app/.data/pki'), `${name} mounts opcua-pki at /app/.data/pki: ${mounts.join(', ')}`);
    }
    assert.ok(compose.volumes && 'opcua-pki' in compose.volumes, 'the volume opcua-pki is declared');
    assert.match(fs.readFileSync(path.join(infra, 'Dockerfile'), 'utf8'), /mkdir -p [^\n]*\.data\/pki[^\n]*&& chown -R node:node \.data/, 'the image creates .data/pki owned by node');
  });

  void test('the servers the app depends on have healthchecks', () => {
    for (const name of ['postgresql', 'temporal', 'influxdb', 'grafana', 'api']) assert.ok(service(name).healthcheck?.test, `${name} has a healthcheck`);
  });

  void test('every secret is required with ${VAR:?message}, and .env.example names each with no value', () => {
    const text = fs.readFileSync(path.join(infra, 'compose.yaml'), 'utf8');
    const required = [...new Set([...text.matchAll(/\$\{([A-Z0-9_]+):\?/g)].map((m) => m[1] ?? ''))].sort();
    assert.deepEqual(required, ['APP_DB_PASSWORD', 'GRAFANA_ADMIN_PASSWORD', 'INFLUX_ADMIN_PASSWORD', 'INFLUX_ADMIN_TOKEN', 'OPCUA_ENDPOINT', 'POSTGRES_PASSWORD']);
    const example = fs.readFileSync(path.join(infra, '.env.example'), 'utf8');
    for (const name of required) assert.match(example, new RegExp(`^${name}=$`, 'm'), `.env.example lists ${name} empty`);
  });

  void test('InfluxDB 2.7 is set up with a DBRP mapping for InfluxQL reads', () => {
    const influx = service('influxdb');
    assert.match(influx.image ?? '', /^influxdb:\$\{INFLUXDB_VERSION:-2\.7\}$/);
    const env = environment(influx);
    assert.equal(env['DOCKER_INFLUXDB_INIT_MODE'], 'setup');
    assert.equal(env['DOCKER_INFLUXDB_INIT_BUCKET'], 'sewer');
    const init = bindMounts(influx).find(([, target]) => target.startsWith('/docker-entrypoint-initdb.d/'));
    assert.ok(init, 'an init script is mounted');
    const script = fs.readFileSync(init[0], 'utf8');
    assert.match(script, /influx v1 dbrp create/);
  });

  void test('Grafana mounts the provisioning folder and the generated dashboards', () => {
    const mounts = bindMounts(service('grafana'));
    const provisioning = mounts.find(([source]) => source === path.join(infra, 'grafana', 'provisioning'));
    assert.equal(provisioning?.[1], '/etc/grafana/provisioning');
    const dashboards = mounts.find(([source]) => source === path.join(repoRoot, 'dashboards', 'generated'));
    assert.ok(dashboards, 'dashboards/generated is mounted');
    const provider = readYaml<{ providers: { type: string; options: { path: string } }[] }>(
      path.join(infra, 'grafana', 'provisioning', 'dashboards', 'sewer.yaml'),
    );
    assert.equal(provider.providers[0]?.type, 'file');
    assert.equal(provider.providers[0]?.options.path, dashboards[1], 'the dashboards provider reads the mounted folder');
  });
});

void describe('infra/grafana/provisioning/datasources/influxdb.yaml', () => {
  interface Datasource {
    type: string;
    url: string;
    database?: string;
    jsonData?: { version?: string; dbName?: string; httpHeaderName1?: string };
    secureJsonData?: { httpHeaderValue1?: string };
  }
  const file = readYaml<{ apiVersion: number; datasources: Datasource[] }>(path.join(infra, 'grafana', 'provisioning', 'datasources', 'influxdb.yaml'));

  void test('is an InfluxQL datasource for the sewer database with the token in an Authorization header', () => {
    assert.equal(file.apiVersion, 1);
    const influx = file.datasources.find((d) => d.type === 'influxdb');
    assert.ok(influx, 'an influxdb datasource');
    assert.equal(influx.url, 'http://influxdb:8086');
    assert.equal(influx.jsonData?.version ?? 'InfluxQL', 'InfluxQL');
    assert.equal(influx.jsonData?.dbName ?? influx.database, 'sewer');
    assert.equal(influx.jsonData?.httpHeaderName1, 'Authorization');
    assert.match(influx.secureJsonData?.httpHeaderValue1 ?? '', /^Token \$\{INFLUX_GRAFANA_TOKEN\}$/);
    assert.ok('INFLUX_GRAFANA_TOKEN' in environment(service('grafana')), 'grafana receives the token variable');
  });
});

void describe('infra/bootstrap.sh', () => {
  // A copy of the script in a repository whose packages and server binaries are in place, with no browser,
  // root, and an apt-get that fails as it does without a Debian mirror.
  function run(lifecycle: string | null, args: string[] = []) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootstrap-'));
    try {
      fs.mkdirSync(path.join(dir, 'infra'));
      fs.copyFileSync(path.join(infra, 'bootstrap.sh'), path.join(dir, 'infra', 'bootstrap.sh'));
      fs.writeFileSync(path.join(dir, 'package-lock.json'), '{}');
      fs.mkdirSync(path.join(dir, 'node_modules'));
      fs.writeFileSync(path.join(dir, 'node_modules', '.bootstrap-stamp'), '');
      const future = new Date(Date.now() + 60_000);
      fs.utimesSync(path.join(dir, 'node_modules', '.bootstrap-stamp'), future, future);
      const bin = path.join(dir, 'stub');
      fs.mkdirSync(path.join(dir, '.cache', 'bin'), { recursive: true });
      fs.mkdirSync(bin);
      const script = (file: string, body: string) => fs.writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
      script(path.join(dir, '.cache', 'bin', 'temporal'), 'exit 0');
      script(path.join(dir, '.cache', 'bin', 'influxd'), 'exit 0');
      script(path.join(bin, 'id'), 'echo 0');
      script(path.join(bin, 'apt-get'), `echo "apt-get $*" >> "${dir}/apt.log"\necho "E: Temporary failure resolving deb.debian.org" >&2\nexit 100`);
      const env: NodeJS.ProcessEnv = { PATH: `${bin}:${process.env['PATH']}`, HOME: dir, BOOTSTRAP_CHROMIUM_CANDIDATES: '' };
      if (lifecycle) env['npm_lifecycle_event'] = lifecycle;
      const result = spawnSync('bash', [path.join(dir, 'infra', 'bootstrap.sh'), ...args], { env, encoding: 'utf8' });
      const apt = fs.existsSync(path.join(dir, 'apt.log')) ? fs.readFileSync(path.join(dir, 'apt.log'), 'utf8') : '';
      return { status: result.status, out: result.stdout + result.stderr, apt };
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  void test('npm start installs no browser and runs nothing with apt-get', () => {
    const r = run('start');
    assert.equal(r.status, 0, r.out);
    assert.equal(r.apt, '', 'apt-get not run');
    assert.match(r.out, /chromium: needed by npm test only \(skipped\)/);
  });

  void test('npm test tries to install the browser; a failing apt-get is a warning, not an exit', () => {
    for (const r of [run('test'), run(null, ['--browser'])]) {
      assert.equal(r.status, 0, r.out);
      assert.match(r.apt, /apt-get update/);
      assert.match(r.out, /chromium: WARNING: apt-get could not install/);
    }
  });
});
