import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { MonitoringModule } from '../monitoring';
import { DemoController } from './demo.controller';
import { DemoService, SIMULATION, simulationFromEnv } from './demo.service';
import { TrafficSimulator } from './traffic/traffic-simulator';
import { UpstreamErrorFilter } from './upstream-error.filter';

const header = (value: string | string[] | undefined) => (typeof value === 'string' ? value : undefined);

/** The demo AI-agent monolith: business routes plus one line of monitoring. */
@Module({
  imports: [
    MonitoringModule.forRoot({
      principalExtractor: (req) => ({
        tenantId: header(req.headers['x-tenant-id']),
        userId: header(req.headers['x-user-id']),
      }),
    }),
  ],
  controllers: [DemoController],
  providers: [DemoService, TrafficSimulator, { provide: APP_FILTER, useClass: UpstreamErrorFilter }, { provide: SIMULATION, useFactory: () => simulationFromEnv() }],
})
export class AppModule {}
