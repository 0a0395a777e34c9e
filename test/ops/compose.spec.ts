import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { DOCKER_COMPOSE, describeWithTools } from './support/external-tools';
import { COMPOSE_FILE, DOCKER_DIR, GRAFANA_PROVISIONING, filesIn, ROOT } from './support/ops-paths';

const run = promisify(execFile);

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  profiles?: string[];
  restart?: string;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  healthcheck?: { test: string[]; interval: string };
  depends_on?: Record<string, { condition: string }>;
}

const compose = parse(readFileSync(COMPOSE_FILE, 'utf8')) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};
const services = compose.services;
const secrets = {
  GRAFANA_ADMIN_PASSWORD: 'test-admin-secret',
  ANALYTICS_DB_PASSWORD: 'test-db-secret',
};

async function composeConfig(env: Record<string, string>, ...args: string[]) {
  const base: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
  };
  try {
    const { stdout, stderr } = await run(DOCKER_COMPOSE, ['-f', COMPOSE_FILE, 'config', ...args], {
      cwd: ROOT,
      env: { ...base, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof e.code === 'number' ? e.code : -1,
      stdout: e.stdout ?? '',
      stderr: e.stderr ?? '',
    };
  }
}

describeWithTools(
  'docker-compose.monitoring.yml (validated by docker-compose)',
  { 'docker-compose': DOCKER_COMPOSE },
  () => {
    it('docker-compose config -q exits 0 when the required secrets are set', async () => {
      const result = await composeConfig(secrets, '-q');
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
    });

    it('refuses to start without the Grafana admin password and the database password', async () => {
      const noGrafana = await composeConfig({ ANALYTICS_DB_PASSWORD: 'x' }, '-q');
      expect(noGrafana.code).not.toBe(0);
      expect(noGrafana.stderr).toContain('GRAFANA_ADMIN_PASSWORD');
      const noDb = await composeConfig({ GRAFANA_ADMIN_PASSWORD: 'x' }, '-q');
      expect(noDb.code).not.toBe(0);
      expect(noDb.stderr).toContain('ANALYTICS_DB_PASSWORD');
    });

    it('resolves the app environment: DATABASE_URL to the bundled PostgreSQL and LOKI_URL to Loki', async () => {
      const result = await composeConfig(secrets);
      expect(result.code).toBe(0);
      const resolved = parse(result.stdout) as { services: Record<string, Service> };
      expect(resolved.services.app?.environment).toMatchObject({
        PORT: '3000',
        DATABASE_URL: 'postgres://magure:test-db-secret@postgres:5432/magure',
        LOKI_URL: 'http://loki:3100',
      });
      expect(resolved.services.grafana?.environment?.GF_SECURITY_ADMIN_PASSWORD).toBe(
        'test-admin-secret',
      );
    });
  },
);

describe('docker-compose.monitoring.yml (structure)', () => {
  it('runs the app, Prometheus, Grafana, Loki and PostgreSQL on the design ports', () => {
    expect(Object.keys(services).sort()).toEqual([
      'app',
      'grafana',
      'loki',
      'postgres',
      'prometheus',
    ]);
    expect(services.prometheus?.ports).toEqual(['9090:9090']);
    expect(services.grafana?.ports).toEqual(['3001:3000']);
    expect(services.loki?.ports).toEqual(['3100:3100']);
    expect(services.postgres?.ports).toEqual(['5432:5432']);
    expect(services.app?.ports).toEqual(['3000:3000']);
  });

  it('pins every image tag, and builds the app from the root Dockerfile', () => {
    for (const [name, s] of Object.entries(services)) {
      if (s.build) continue;
      expect({ name, image: s.image }).toEqual({
        name,
        image: expect.stringMatching(/^[a-z0-9./-]+:v?\d+(\.\d+)+(-[a-z0-9]+)?$/),
      });
    }
    expect(services.app?.build).toEqual({ context: '..', dockerfile: 'Dockerfile' });
    expect(existsSync(join(ROOT, 'Dockerfile'))).toBe(true);
  });

  it('gives every service a health check and a restart policy', () => {
    for (const [name, s] of Object.entries(services)) {
      expect({ name, restart: s.restart }).toEqual({ name, restart: 'unless-stopped' });
      expect({ name, test: s.healthcheck?.test[0] }).toEqual({
        name,
        test: expect.stringMatching(/^CMD(-SHELL)?$/),
      });
    }
  });

  it('keeps every store in a named volume', () => {
    const stores: Record<string, string> = {
      prometheus: '/prometheus',
      loki: '/loki',
      postgres: '/var/lib/postgresql/data',
      grafana: '/var/lib/grafana',
    };
    for (const [service, path] of Object.entries(stores)) {
      const mount = services[service]?.volumes?.find((v) => v.split(':')[1] === path);
      const volume = mount?.split(':')[0] as string;
      expect({ service, volume: compose.volumes[volume] !== undefined }).toEqual({
        service,
        volume: true,
      });
    }
  });

  it('mounts configuration files that exist in the repository', () => {
    for (const s of Object.values(services)) {
      for (const v of s.volumes ?? []) {
        const source = v.split(':')[0] as string;
        if (!source.startsWith('.') && !isAbsolute(source)) continue;
        expect({ source, exists: existsSync(resolve(DOCKER_DIR, source)) }).toEqual({
          source,
          exists: true,
        });
      }
    }
  });

  it('keeps Prometheus metrics 30 days', () => {
    expect(services.prometheus?.command).toContain('--storage.tsdb.retention.time=30d');
    expect(services.prometheus?.command).toContain('--config.file=/etc/prometheus/prometheus.yml');
  });

  it('turns anonymous Grafana access off and takes the admin password from the environment', () => {
    const env = services.grafana?.environment ?? {};
    expect(env.GF_AUTH_ANONYMOUS_ENABLED).toBe('false');
    expect(env.GF_SECURITY_ADMIN_PASSWORD).toMatch(/^\$\{GRAFANA_ADMIN_PASSWORD:\?/);
    const home = env.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH as string;
    expect(existsSync(join(ROOT, 'grafana', home.split('/').pop() as string))).toBe(true);
  });

  it('passes Grafana every variable its data source provisioning reads', () => {
    const env = services.grafana?.environment ?? {};
    for (const file of filesIn(join(GRAFANA_PROVISIONING, 'datasources'), '.yml')) {
      // Scan the parsed values, not the comments.
      const values = JSON.stringify(parse(readFileSync(file, 'utf8')));
      // `$$` is Grafana's escape for a literal `$` (e.g. `$${__value.raw}`), not a variable.
      for (const m of values.matchAll(/(?<!\$)\$(?!\$)\{?([A-Z_][A-Z0-9_]*)\}?/g)) {
        expect({ variable: m[1], set: (m[1] as string) in env }).toEqual({
          variable: m[1],
          set: true,
        });
      }
    }
  });

  it('puts the bundled PostgreSQL in a profile that docker/.env switches on by default', () => {
    expect(services.postgres?.profiles).toEqual(['analytics-db']);
    expect(services.app?.depends_on?.postgres).toBeUndefined();
    const dotenv = readFileSync(join(DOCKER_DIR, '.env'), 'utf8');
    expect(dotenv).toMatch(/^COMPOSE_PROFILES=analytics-db$/m);
  });

  it('configures the app with PORT 3000, DATABASE_URL and LOKI_URL', () => {
    const env = services.app?.environment ?? {};
    expect(env.PORT).toBe('3000');
    expect(env.DATABASE_URL).toMatch(/^postgres:\/\//);
    expect(env.LOKI_URL).toBe('http://loki:3100');
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const dockerignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n');

  it('builds with npm ci and npm run build and starts node dist/main.js on port 3000', () => {
    for (const from of dockerfile.matchAll(/^FROM\s+(\S+)/gm))
      expect(from[1]).toMatch(/^node:\d+\.\d+\.\d+-[a-z]+-slim$/);
    expect(dockerfile).toMatch(/^RUN npm ci/m);
    expect(dockerfile).toMatch(/npm run build/);
    expect(dockerfile).toMatch(/^CMD \["node", "dist\/main\.js"\]$/m);
    expect(dockerfile).toMatch(/^EXPOSE 3000$/m);
    expect(dockerfile).toMatch(/^USER node$/m);
  });

  it('copies into the build stage every file `npm run build` reads (sources, migrations, tsconfigs)', () => {
    const build = (
      JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
        scripts: Record<string, string>;
      }
    ).scripts.build as string;
    const buildStage = dockerfile.split(/^FROM /m)[1] ?? '';
    const copied = [...buildStage.matchAll(/^COPY\s+(?!--from)(.+)$/gm)].flatMap((m) =>
      (m[1] as string).trim().split(/\s+/).slice(0, -1),
    );
    const needed = new Set<string>();
    // `tsc -p a.json` or `tsc -b a.json b.json`.
    const configs = [...build.matchAll(/tsc -[pb]((?:\s+[\w.-]+\.json)+)/g)].flatMap((m) => (m[1] as string).trim().split(/\s+/));
    expect(configs.length).toBeGreaterThan(0);
    for (const first of configs) {
      let config: string | undefined = first;
      // `include` of an extending config replaces the base's: the first one found counts.
      let include: string[] | undefined;
      while (config) {
        needed.add(config);
        const parsed = JSON.parse(readFileSync(join(ROOT, config), 'utf8')) as {
          extends?: string;
          include?: string[];
        };
        include ??= parsed.include;
        config = parsed.extends?.replace(/^\.\//, '');
      }
      for (const pattern of include ?? []) needed.add(pattern.split('/')[0] as string);
    }
    expect([...needed].filter((f) => !copied.includes(f))).toEqual([]);
    for (const entry of needed) expect(dockerignore).not.toContain(entry);
  });

  it('keeps node_modules, build output and git data out of the build context', () => {
    for (const entry of ['node_modules', 'dist', '.git']) expect(dockerignore).toContain(entry);
  });
});
