#!/usr/bin/env node
/**
 * The package as users get it: `npm pack`, then fresh apps in temporary directories — NestJS 11 +
 * Express, NestJS 12 + Express, NestJS 12 + Fastify — each installed with the README's own install
 * command and built from the README's own quick-start files. Each app is compiled with tsc
 * (`--strict`, `skipLibCheck: false`), booted, driven over HTTP, stopped with SIGTERM and booted
 * again on the same embedded database. Jest cannot load NestJS 12 (ESM), so this is also the
 * end-to-end run against the other major.
 *
 *   npm run test:consumers                        # all consumers
 *   CONSUMERS=nest12-fastify npm run test:consumers
 *   KEEP_CONSUMERS=1 npm run test:consumers       # keep the temporary directories
 *
 * Prints one PASS / FAIL line per check, ends with `N passed, N failed`, exits 1 on a failure.
 */
'use strict';

const { spawn, spawnSync } = require('node:child_process');
const { createServer } = require('node:http');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const PKG = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const TOKEN = 'consumer-check-token-0123456789';

const CONSUMERS = [
  { name: 'nest11-express', nest: 11, adapter: 'Express', swagger: true },
  { name: 'nest12-express', nest: 12, adapter: 'Express', swagger: true },
  { name: 'nest12-fastify', nest: 12, adapter: 'Fastify', swagger: false },
  { name: 'nest11-fastify', nest: 11, adapter: 'Fastify', swagger: false },
].filter((c) => !process.env.CONSUMERS || process.env.CONSUMERS.split(',').includes(c.name));

let passed = 0;
let failed = 0;
const failures = [];

function check(name, ok, detail = '') {
  if (ok) passed += 1;
  else {
    failed += 1;
    failures.push(name);
  }
  // Details explain a failure; on a pass only a short one is shown (a value, a timing).
  const shown =
    detail && (!ok || (detail.length <= 160 && !detail.includes('\n'))) ? `  (${detail})` : '';
  console.log(`${ok ? 'PASS' : 'FAIL'}  ${name}${shown}`);
  return ok;
}

function info(line) {
  console.log(`      ${line}`);
}

function run(command, args, cwd, env = process.env) {
  const result = spawnSync(command, args, {
    cwd,
    env,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return {
    code: result.status,
    stdout: result.stdout ?? '',
    out: `${result.stdout ?? ''}${result.stderr ?? ''}`,
  };
}

/** Splits a shell command line of plain words (the README's install lines have no quoting). */
function words(line) {
  return line.trim().split(/\s+/);
}

// ---------------------------------------------------------------------------------------------
// What the README says

/** The README's fenced blocks of a language, with the text before each (to find their labels). */
function readmeBlocks(lang) {
  const blocks = [];
  const re = new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g');
  for (let m = re.exec(README); m; m = re.exec(README)) blocks.push(m[1]);
  return blocks;
}

/** `npm install` lines of the README's install block, keyed by their `# NestJS 12 + Express` label. */
function readmeInstallCommands() {
  const commands = {};
  for (const block of readmeBlocks('bash')) {
    let label;
    for (const line of block.split('\n')) {
      const heading = /^#\s*(NestJS \d+ \+ \w+|OpenAPI, NestJS \d+)\s*$/.exec(line.trim());
      if (heading) label = heading[1];
      else if (label && line.startsWith('npm install')) {
        commands[label] = line.replace(/\s+#.*$/, '');
        label = undefined;
      }
    }
  }
  return commands;
}

/** The quick-start source files: ```ts blocks whose first line is `// src/<file>.ts` (optionally `(Express)` / `(Fastify)`). */
function readmeSourceFiles(adapter) {
  const files = {};
  for (const block of readmeBlocks('ts')) {
    const first = /^\/\/ (src\/[\w./-]+\.ts)(?: \((Express|Fastify)\))?\n/.exec(block);
    if (!first) continue;
    if (first[2] && first[2] !== adapter) continue;
    files[first[1]] = block;
  }
  return files;
}

// ---------------------------------------------------------------------------------------------
// A local OpenAI-compatible endpoint (the documented Chat Completions JSON)

function startFakeOpenAi() {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const request = JSON.parse(body || '{}');
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          id: 'chatcmpl-consumer',
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model: request.model,
          choices: [
            {
              index: 0,
              message: { role: 'assistant', content: 'Restart the router.' },
              finish_reason: 'stop',
            },
          ],
          usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 },
        }),
      );
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Prometheus text

function metricValue(text, name, labels) {
  const want = Object.entries(labels);
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = {};
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
    for (let l = re.exec(m[2] ?? ''); l; l = re.exec(m[2] ?? '')) got[l[1]] = l[2];
    if (Object.keys(got).length === want.length && want.every(([k, v]) => got[k] === v))
      return Number(m[3]);
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// The app process

function startApp(dir, env) {
  const child = spawn(process.execPath, ['dist/main.js'], {
    cwd: dir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const app = { child, stdout: '', stderr: '', exited: undefined };
  child.stdout.on('data', (d) => (app.stdout += d));
  child.stderr.on('data', (d) => (app.stderr += d));
  app.exit = new Promise((resolve) =>
    child.on('exit', (code, signal) => resolve((app.exited = { code, signal }))),
  );
  return app;
}

async function waitUntilUp(app, base, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !app.exited) {
    try {
      const res = await fetch(`${base}/metrics`);
      if (res.status === 200) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

async function stopApp(app, timeoutMs = 20_000) {
  if (app.exited) return app.exited;
  const started = Date.now();
  app.child.kill('SIGTERM');
  const timer = new Promise((r) => setTimeout(() => r(undefined), timeoutMs));
  const result = await Promise.race([app.exit, timer]);
  if (!result) app.child.kill('SIGKILL');
  return result && { ...result, ms: Date.now() - started };
}

function logLines(text) {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => {
      try {
        return JSON.parse(l);
      } catch {
        return undefined;
      }
    })
    .filter(Boolean);
}

// ---------------------------------------------------------------------------------------------
// One consumer

const TSCONFIG = {
  compilerOptions: {
    module: 'nodenext',
    moduleResolution: 'nodenext',
    target: 'ES2022',
    strict: true,
    skipLibCheck: false,
    experimentalDecorators: true,
    emitDecoratorMetadata: true,
    outDir: 'dist',
    rootDir: 'src',
    types: ['node'],
  },
  include: ['src'],
};

async function runConsumer(consumer, tarball, workDir, openAiBase, installCommands) {
  const label = `NestJS ${consumer.nest} + ${consumer.adapter}`;
  const tag = `[${consumer.name}]`;
  console.log(
    `\n== ${consumer.name}: ${label}${consumer.swagger ? ' + @nestjs/swagger' : ', without @nestjs/swagger'}`,
  );
  const dir = path.join(workDir, consumer.name);
  fs.mkdirSync(path.join(dir, 'src'), { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({ name: consumer.name, version: '1.0.0', private: true }, null, 2),
  );

  // The app's own tooling, as in any TypeScript project (not part of the README line).
  const tools = run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--save-dev', 'typescript@5.9', '@types/node@20'],
    dir,
  );
  if (
    !check(
      `${tag} install typescript and @types/node`,
      tools.code === 0,
      tools.code === 0 ? '' : tools.out.slice(-500),
    )
  )
    return;

  const readmeLine = installCommands[label];
  if (!check(`${tag} README has an install command for ${label}`, Boolean(readmeLine))) return;
  const tgzInReadme = `./${PKG.name}-${PKG.version}.tgz`;
  const command = readmeLine.replace(tgzInReadme, tarball);
  check(
    `${tag} README install command names the packed file ${tgzInReadme}`,
    readmeLine.includes(tgzInReadme),
  );
  const [npm, ...args] = words(command);
  const install = run(npm, [...args, '--no-audit', '--no-fund'], dir);
  check(
    `${tag} README install command succeeds: ${readmeLine}`,
    install.code === 0,
    install.code === 0 ? '' : install.out.slice(-1500),
  );
  if (install.code !== 0) return;
  const warnings = install.out.split('\n').filter((l) => /npm warn/i.test(l));
  const peerWarnings = warnings.filter((l) => /peer|ERESOLVE|conflict/i.test(l));
  check(
    `${tag} no peer dependency warning during install`,
    peerWarnings.length === 0,
    peerWarnings.slice(0, 5).join(' | '),
  );
  const engines = [
    ...install.out.matchAll(
      /package: '([^']+)',\s*\n\s*npm warn EBADENGINE\s+required: \{ node: '([^']+)'/g,
    ),
  ].map((m) => `${m[1]} wants node ${m[2]}`);
  if (engines.length)
    info(
      `npm EBADENGINE warnings on Node ${process.versions.node} (documented in the README): ${engines.join('; ')}`,
    );

  if (consumer.swagger) {
    const swaggerLine = installCommands[`OpenAPI, NestJS ${consumer.nest}`];
    if (
      check(
        `${tag} README has the optional @nestjs/swagger install command for NestJS ${consumer.nest}`,
        Boolean(swaggerLine),
      )
    ) {
      const [n, ...a] = words(swaggerLine);
      const swagger = run(n, [...a, '--no-audit', '--no-fund'], dir);
      check(
        `${tag} ${swaggerLine}`,
        swagger.code === 0 && !/npm warn.*(peer|ERESOLVE)/i.test(swagger.out),
        swagger.out.slice(-800),
      );
    }
  }

  const versions = run('npm', ['ls', '--json', '--depth=0'], dir);
  try {
    const deps = JSON.parse(versions.stdout).dependencies ?? {};
    info(
      [
        '@nestjs/core',
        '@nestjs/common',
        `@nestjs/platform-${consumer.adapter.toLowerCase()}`,
        '@nestjs/swagger',
        PKG.name,
      ]
        .map((n) => `${n}@${deps[n]?.version ?? '-'}`)
        .join('  '),
    );
  } catch {
    // the version line is informative only
  }
  for (const pkg of [
    '@nestjs/core',
    '@nestjs/common',
    'nestjs-pino',
    'pino',
    'pino-http',
    'class-transformer',
  ]) {
    const copies = run('find', ['.', '-path', `*/node_modules/${pkg}/package.json`], dir)
      .out.split('\n')
      .filter(Boolean);
    const found = copies.map(
      (p) => `${path.dirname(p)}@${JSON.parse(fs.readFileSync(path.join(dir, p), 'utf8')).version}`,
    );
    check(`${tag} exactly one copy of ${pkg}`, copies.length === 1, found.join(', '));
  }

  // The README's quick-start files, as the app's sources.
  const files = readmeSourceFiles(consumer.adapter);
  check(
    `${tag} README quick start has src/app.module.ts and src/main.ts (${consumer.adapter})`,
    Boolean(files['src/app.module.ts'] && files['src/main.ts']),
    Object.keys(files).join(', '),
  );
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), text);
  }
  fs.copyFileSync(path.join(__dirname, 'api-usage.ts'), path.join(dir, 'src', 'api-usage.ts'));
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
  const tsc = path.join(dir, 'node_modules', 'typescript', 'bin', 'tsc');
  const build = run(process.execPath, [tsc, '-p', 'tsconfig.json'], dir);
  check(
    `${tag} tsc --strict --skipLibCheck false (module nodenext): README app + public API`,
    build.code === 0,
    build.out.trim().slice(0, 2000),
  );
  const bundler = run(
    process.execPath,
    [
      tsc,
      '-p',
      'tsconfig.json',
      '--module',
      'preserve',
      '--moduleResolution',
      'bundler',
      '--noEmit',
    ],
    dir,
  );
  check(
    `${tag} tsc --strict --skipLibCheck false (moduleResolution bundler)`,
    bundler.code === 0,
    bundler.out.trim().slice(0, 2000),
  );
  // node16 resolution: with NestJS 12 (ESM only) the code must be an ES module; an .mts file is.
  fs.mkdirSync(path.join(dir, 'node16'), { recursive: true });
  fs.copyFileSync(path.join(__dirname, 'api-usage.ts'), path.join(dir, 'node16', 'api-usage.mts'));
  const node16 = run(
    process.execPath,
    [
      tsc,
      '--strict',
      '--skipLibCheck',
      'false',
      '--noEmit',
      '--module',
      'node16',
      '--moduleResolution',
      'node16',
      '--target',
      'ES2022',
      '--experimentalDecorators',
      '--emitDecoratorMetadata',
      '--types',
      'node',
      'node16/api-usage.mts',
    ],
    dir,
  );
  check(
    `${tag} tsc --strict --skipLibCheck false (moduleResolution node16, ES module)`,
    node16.code === 0,
    node16.out.trim().slice(0, 2000),
  );
  if (build.code !== 0) return;

  // Boot, drive, stop.
  const port = await freePort();
  const dataDir = path.join(dir, '.data', 'pglite');
  const env = {
    ...process.env,
    PORT: String(port),
    NODE_ENV: 'production',
    OPENAI_BASE_URL: openAiBase,
    OPENAI_API_KEY: 'sk-consumer-check',
    PGLITE_DATA_DIR: dataDir,
    ANALYTICS_API_TOKEN: TOKEN,
    // Rows reach the database only when the queue is flushed at shutdown: the restart proves it.
    ANALYTICS_FLUSH_INTERVAL_MS: '60000',
  };
  for (const k of [
    'DATABASE_URL',
    'LOKI_URL',
    'LOKI_ENABLED',
    'PROMETHEUS_ENABLED',
    'ANALYTICS_ENABLED',
    'LOG_LEVEL',
    'METRICS_PATH',
    'ANALYTICS_API_PREFIX',
  ])
    delete env[k];
  const base = `http://127.0.0.1:${port}`;
  let app = startApp(dir, env);
  const up = await waitUntilUp(app, base);
  if (
    !check(
      `${tag} app boots (node dist/main.js) and serves /metrics`,
      up,
      up ? '' : `${app.stderr}${app.stdout}`.slice(-3000),
    )
  ) {
    await stopApp(app);
    return;
  }

  const requestIds = ['consumer-req-1', 'consumer-req-2', 'consumer-req-3'];
  const answers = [];
  for (const [i, id] of requestIds.entries()) {
    const res = await fetch(`${base}/support/tickets/${40 + i}/answer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': id },
      body: JSON.stringify({ question: 'The router is down, what now?' }),
    });
    answers.push({
      status: res.status,
      echoed: res.headers.get('x-request-id'),
      body: await res.text(),
    });
  }
  check(
    `${tag} POST /support/tickets/:id/answer runs the decorated agent and LLM call: 201 x3`,
    answers.every((a) => a.status === 201 && a.body.includes('Restart the router.')),
    JSON.stringify(answers[0]),
  );
  check(
    `${tag} request id echoed in x-request-id`,
    answers.every((a, i) => a.echoed === requestIds[i]),
    answers.map((a) => a.echoed).join(','),
  );
  const notFound = await fetch(`${base}/no/such/route`);
  check(`${tag} unknown route answers 404`, notFound.status === 404, String(notFound.status));
  const rejected = await fetch(`${base}/api/analytics/summary?hours=1`);
  check(
    `${tag} analytics API without the bearer token: 401 (guard)`,
    rejected.status === 401,
    String(rejected.status),
  );

  const metrics = await (await fetch(`${base}/metrics`)).text();
  const expected = [
    [
      'magure_http_requests_total',
      { method: 'POST', endpoint: '/support/tickets/:id/answer', status_code: '201' },
      3,
    ],
    ['magure_http_requests_total', { method: 'GET', endpoint: 'unmatched', status_code: '404' }, 1],
    [
      'magure_http_requests_total',
      { method: 'GET', endpoint: '/api/analytics/summary', status_code: '401' },
      1,
    ],
    [
      'magure_agent_executions_total',
      { agent_id: 'support', agent_type: 'llm', status: 'success' },
      3,
    ],
    [
      'magure_llm_requests_total',
      { provider: 'openai', model: 'gpt-4o-mini', status: 'success' },
      3,
    ],
    [
      'magure_llm_tokens_total',
      { provider: 'openai', model: 'gpt-4o-mini', token_type: 'prompt' },
      36,
    ],
    [
      'magure_llm_tokens_total',
      { provider: 'openai', model: 'gpt-4o-mini', token_type: 'completion' },
      15,
    ],
  ];
  for (const [name, labels, value] of expected) {
    const got = metricValue(metrics, name, labels);
    check(
      `${tag} /metrics ${name}${JSON.stringify(labels)} = ${value}`,
      got === value,
      `got ${got}`,
    );
  }

  const appLine = logLines(app.stdout).find(
    (l) => l.context === 'SupportAgent' && l.request_id === 'consumer-req-1',
  );
  check(
    `${tag} the app's own Logger line carries request_id (setupMonitoring's useLogger)`,
    Boolean(appLine),
    appLine ? appLine.msg : 'no SupportAgent line with request_id consumer-req-1',
  );

  const docs = await fetch(`${base}/api/analytics/docs/json`);
  if (consumer.swagger) {
    const doc = docs.status === 200 ? await docs.json() : {};
    check(
      `${tag} OpenAPI document served by setupMonitoring (swagger installed)`,
      docs.status === 200 &&
        Boolean(doc.paths?.['/api/analytics/costs']) &&
        Boolean(doc.components?.schemas?.MoneyDto?.properties?.usd),
      `status ${docs.status}`,
    );
  } else {
    check(
      `${tag} no OpenAPI route without @nestjs/swagger (setupMonitoring skips it): 404`,
      docs.status === 404,
      `status ${docs.status}`,
    );
  }

  const stopped = await stopApp(app);
  check(
    `${tag} SIGTERM stops the app`,
    Boolean(stopped),
    stopped
      ? `${stopped.signal ?? stopped.code} after ${stopped.ms} ms`
      : 'still running after 20 s',
  );
  const unexpected = app.stderr
    .split('\n')
    .filter(
      (l) =>
        l.trim() && !/ExperimentalWarning|--trace-warnings|Support for loading ES Module/.test(l),
    );
  check(`${tag} nothing on stderr`, unexpected.length === 0, unexpected.slice(0, 5).join(' | '));

  // Second boot on the same embedded database: the rows queued before SIGTERM were written.
  app = startApp(dir, env);
  if (
    check(
      `${tag} app boots again on the same embedded database`,
      await waitUntilUp(app, base),
      app.stderr.slice(-2000),
    )
  ) {
    const res = await fetch(`${base}/api/analytics/summary?hours=1`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    const summary = res.status === 200 ? await res.json() : {};
    const got = {
      status: res.status,
      agentExecutions: summary.agentExecutions,
      llmCalls: summary.llmCalls,
      promptTokens: summary.promptTokens,
      completionTokens: summary.completionTokens,
    };
    const want = {
      status: 200,
      agentExecutions: 3,
      llmCalls: 3,
      promptTokens: 36,
      completionTokens: 15,
    };
    check(
      `${tag} analytics API after restart: the rows flushed at SIGTERM are there`,
      JSON.stringify(got) === JSON.stringify(want),
      JSON.stringify(got),
    );
  }
  await stopApp(app);

  if (!consumer.swagger) {
    // setupAnalyticsOpenApi called directly without the package: one clear error naming it.
    const script = [
      "const { NestFactory } = require('@nestjs/core');",
      `const { setupAnalyticsOpenApi } = require('${PKG.name}');`,
      "const { AppModule } = require('./dist/app.module.js');",
      '(async () => {',
      consumer.adapter === 'Fastify'
        ? "  const app = await NestFactory.create(AppModule, new (require('@nestjs/platform-fastify').FastifyAdapter)(), { logger: false });"
        : '  const app = await NestFactory.create(AppModule, { logger: false });',
      '  try { setupAnalyticsOpenApi(app); console.log("NO ERROR"); } catch (e) { console.log(`${e.name}: ${e.message}`); }',
      '  await app.close();',
      '})();',
    ].join('\n');
    const direct = run(process.execPath, ['-e', script], dir, {
      ...env,
      ANALYTICS_ENABLED: 'false',
      LOG_LEVEL: 'silent',
    });
    check(
      `${tag} setupAnalyticsOpenApi without @nestjs/swagger throws an error naming the package`,
      /SwaggerMissingError: .*@nestjs\/swagger/.test(direct.out),
      direct.out.trim().split('\n').slice(-1)[0],
    );
  }
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nestjs-ai-monitoring-consumers-'));
  console.log(`Consumers in ${workDir} (Node ${process.versions.node})`);
  const started = Date.now();

  console.log('\n== npm pack');
  const pack = run('npm', ['pack', '--json', '--pack-destination', workDir], ROOT);
  let packed;
  try {
    // stdout: the prepack script's lines, then the JSON report.
    packed = JSON.parse(pack.stdout.slice(pack.stdout.search(/^\[/m)))[0];
  } catch {
    packed = undefined;
  }
  if (
    !check(
      'npm pack builds the library (prepack) and writes the tarball',
      pack.code === 0 && Boolean(packed),
      pack.out.slice(-1500),
    )
  )
    return finish(workDir, started);
  const tarball = path.join(workDir, packed.filename);
  const names = packed.files.map((f) => f.path);
  info(
    `${packed.filename}: ${names.length} files, ${Math.round(packed.size / 1024)} kB packed, ${Math.round(packed.unpackedSize / 1024)} kB unpacked`,
  );
  const has = (p) => names.includes(p);
  check(
    'tarball has the library code and types',
    has('dist/monitoring/index.js') &&
      has('dist/monitoring/index.d.ts') &&
      has('dist/monitoring/logging/loki/loki.transport.js'),
  );
  check(
    'tarball has the compiled migrations',
    names.filter((n) => /^dist\/migrations\/\d+-\w+\.js$/.test(n)).length ===
      fs.readdirSync(path.join(ROOT, 'migrations')).filter((f) => f.endsWith('.ts')).length,
  );
  check(
    'tarball has README.md, LICENSE, the Grafana dashboards and Prometheus rules',
    has('README.md') &&
      has('LICENSE') &&
      names.some((n) => n.startsWith('grafana/')) &&
      has('docker/monitoring/prometheus/rules/magure-alerts.yml'),
  );
  const unwanted = names.filter((n) =>
    /^(src|test|bench|\.ci|migrations)\/|^dist\/(main|demo)|^dist\/.*\.map$|tsbuildinfo|docker-compose|Dockerfile|^docker\/\.env/.test(
      n,
    ),
  );
  check(
    'tarball has no sources, tests, benches, CI files, demo or source maps',
    unwanted.length === 0,
    unwanted.slice(0, 10).join(', '),
  );
  check('package.json is not private', PKG.private !== true);

  const installCommands = readmeInstallCommands();
  const openAi = await startFakeOpenAi();
  const openAiBase = `http://127.0.0.1:${openAi.address().port}`;
  try {
    for (const consumer of CONSUMERS) {
      try {
        await runConsumer(consumer, tarball, workDir, openAiBase, installCommands);
      } catch (error) {
        check(
          `[${consumer.name}] runs to the end`,
          false,
          error instanceof Error ? error.stack : String(error),
        );
      }
    }
  } finally {
    openAi.close();
  }
  return finish(workDir, started);
}

function finish(workDir, started) {
  if (process.env.KEEP_CONSUMERS) console.log(`\nKept ${workDir}`);
  else fs.rmSync(workDir, { recursive: true, force: true });
  console.log(`\nConsumer checks took ${Math.round((Date.now() - started) / 1000)} s`);
  if (failures.length) console.log(`Failed:\n${failures.map((f) => `  - ${f}`).join('\n')}`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed === 0 ? 0 : 1;
}

void main();
