import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { AppModule } from './demo/app.module';
import { setupAnalyticsOpenApi } from './monitoring';

async function bootstrap() {
  const app = await NestFactory.create(AppModule, { bufferLogs: true });
  app.useLogger(app.get(Logger));
  app.enableShutdownHooks();
  setupAnalyticsOpenApi(app);
  const port = Number(process.env.PORT ?? 3000);
  await app.listen(port);
  const base = `http://localhost:${port}`;

  console.log(
    [
      '',
      `Demo monolith listening on ${base}`,
      `  Prometheus metrics:  ${base}/metrics`,
      `  Analytics page:      ${base}/api/analytics/ui`,
      `  Analytics API:       ${base}/api/analytics/summary?hours=24  (OpenAPI: ${base}/api/analytics/docs)`,
      `  Recent logs:         ${base}/api/analytics/recent-logs?limit=50`,
      `  Agents / workflows:  ${base}/agents  ${base}/workflows`,
      '',
    ].join('\n'),
  );
}

void bootstrap();
