import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { MonitoringOptionsError, resolveMonitoringOptions, setupMonitoring } from './monitoring';

/** Reads PORT (default 3000), refusing what `listen()` would reject with a stack trace. */
function portFromEnv(): number {
  const raw = process.env.PORT;
  if (raw === undefined || raw === '') return 3000;
  const port = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || port < 0 || port > 65535) {
    throw new StartupError(`Invalid PORT=${JSON.stringify(raw)}: must be a whole number from 0 to 65535`);
  }
  return port;
}

/** A configuration mistake: reported as one line, without a stack trace. */
class StartupError extends Error {}

async function bootstrap(): Promise<void> {
  const port = portFromEnv();
  // The same resolution MonitoringModule.forRoot applies: a bad option stops here, as one line.
  const options = resolveMonitoringOptions();
  // Loaded after the checks: the module's decorators resolve the options when the file loads.
  const { AppModule } = await import('./demo/app.module');
  // forceCloseConnections: keep-alive connections (the simulated traffic's) would hold Ctrl-C
  // for the HTTP server's 5 s keep-alive timeout.
  const app = await NestFactory.create(AppModule, { bufferLogs: true, forceCloseConnections: true });
  setupMonitoring(app);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => console.log(`\n${signal}: shutting down (writing queued analytics rows and logs)…`));
  }
  await app.listen(port);
  const base = `http://localhost:${port}`;
  const api = `${base}${options.analyticsApiPrefix}`;
  console.log(
    [
      '',
      `Demo monolith listening on ${base}`,
      options.prometheusEnabled
        ? `  Prometheus metrics:  ${base}${options.metricsPath}`
        : '  Prometheus metrics:  off (PROMETHEUS_ENABLED=false)',
      ...(options.analyticsApiEnabled
        ? [
            options.analyticsUiEnabled ? `  Analytics page:      ${base}${options.analyticsUiPath}` : '',
            `  Analytics API:       ${api}/summary?hours=24  (OpenAPI: ${base}${options.analyticsOpenApiPath})`,
          ]
        : ['  Analytics API:       off (ANALYTICS_API_ENABLED=false)']),
      `  Recent logs:         ${api}/recent-logs?limit=50`,
      `  Agents / workflows:  ${base}/agents  ${base}/workflows`,
      '',
    ]
      .filter((line, i, lines) => line !== '' || i === 0 || i === lines.length - 1)
      .join('\n'),
  );
}

bootstrap().catch((error: unknown) => {
  if (error instanceof MonitoringOptionsError || error instanceof StartupError) {
    console.error(error.message);
    process.exit(1);
  }
  const code = (error as { code?: string }).code;
  if (code === 'EADDRINUSE') {
    console.error(`Port ${process.env.PORT ?? 3000} is already in use: set PORT to a free port`);
    process.exit(1);
  }
  throw error;
});
