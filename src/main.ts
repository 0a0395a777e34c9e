import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { AppModule } from './demo/app.module';

async function bootstrap() {
  const app = await NestFactory.create(AppModule, { bufferLogs: true });
  app.useLogger(app.get(Logger));
  app.enableShutdownHooks();
  const port = Number(process.env.PORT ?? 3000);
  await app.listen(port);
  const base = `http://localhost:${port}`;
   
  console.log(
    [
      '',
      `Demo monolith listening on ${base}`,
      `  Prometheus metrics:  ${base}/metrics`,
      `  Agents / workflows:  ${base}/agents  ${base}/workflows`,
      '',
    ].join('\n'),
  );
}

void bootstrap();
