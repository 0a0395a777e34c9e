import type { INestApplication, NestApplicationOptions } from '@nestjs/common';
import { NestFactory, type AbstractHttpAdapter } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';

/** The HTTP platforms the module supports; every HTTP end-to-end spec runs on each. */
export type HttpAdapterName = 'express' | 'fastify';

export const HTTP_ADAPTERS: readonly HttpAdapterName[] = ['express', 'fastify'];

/** A fresh adapter instance of the given platform. */
export function createHttpAdapter(
  name: HttpAdapterName,
  settings: HttpAdapterSettings = {},
): AbstractHttpAdapter {
  if (name === 'fastify') {
    return new FastifyAdapter(
      settings.trustProxy !== undefined ? { trustProxy: settings.trustProxy } : {},
    );
  }
  const adapter = new ExpressAdapter();
  if (settings.trustProxy !== undefined) adapter.set('trust proxy', settings.trustProxy);
  return adapter;
}

/** Settings both platforms have, each spelled its own way. */
export interface HttpAdapterSettings {
  /** Proxies whose X-Forwarded-For is trusted (Express `trust proxy`, Fastify `trustProxy`). */
  trustProxy?: string;
}

/**
 * `NestFactory.create` on the given platform, initialised and ready to serve `getHttpServer()`
 * (Fastify answers only once its plugins are loaded). `configure` runs before `init()`.
 */
export async function createAppOn(
  adapter: HttpAdapterName,
  module: unknown,
  options: NestApplicationOptions = {},
  configure?: (app: INestApplication) => void,
  settings: HttpAdapterSettings = {},
): Promise<INestApplication> {
  const app = await NestFactory.create(
    module as never,
    createHttpAdapter(adapter, settings),
    options,
  );
  if (app.getHttpAdapter().getType() !== adapter)
    throw new Error(`expected a ${adapter} application`);
  configure?.(app);
  await app.init();
  await waitUntilReady(app);
  return app;
}

/** Waits for Fastify's plugins (no-op on Express). */
export async function waitUntilReady(app: INestApplication): Promise<void> {
  const instance = app.getHttpAdapter().getInstance() as { ready?: () => PromiseLike<unknown> };
  if (app.getHttpAdapter().getType() === 'fastify') await instance.ready!();
}

/** `describe` once per HTTP platform, titled `<title> [express]` and `<title> [fastify]`. */
export function describeEachAdapter(title: string, body: (adapter: HttpAdapterName) => void): void {
  for (const adapter of HTTP_ADAPTERS) describe(`${title} [${adapter}]`, () => body(adapter));
}
