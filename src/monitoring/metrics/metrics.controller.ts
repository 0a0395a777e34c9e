import { Controller, Get, Inject, NotFoundException, Res, type Type } from '@nestjs/common';
import { PrometheusController } from '@willsoto/nestjs-prometheus';
import type { Registry } from 'prom-client';
import { MONITORING_OPTIONS, MONITORING_REGISTRY } from '../monitoring.constants';
import type { MonitoringOptions } from '../monitoring-options.interface';

/**
 * Creates the `/metrics` controller for one module instance. A fresh class per call, because
 * `@willsoto/nestjs-prometheus` writes the route path onto the controller class it is given; it
 * serves this module's own registry instead of prom-client's global one.
 */
export function createMetricsController(): Type<unknown> {
  @Controller()
  class MetricsController extends PrometheusController {
    constructor(
      @Inject(MONITORING_REGISTRY) private readonly registry: Registry,
      @Inject(MONITORING_OPTIONS) private readonly options: MonitoringOptions,
    ) {
      super();
    }

    @Get()
    override async index(@Res({ passthrough: true }) response: { header(name: string, value: string): void }) {
      if (!this.options.prometheusEnabled) throw new NotFoundException();
      response.header('Content-Type', this.registry.contentType);
      return this.registry.metrics();
    }
  }
  return MetricsController;
}
