import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { Express } from 'express';
import { createFlowClient } from '../../src/flows/create-flow-client';
import { openSqliteStore } from '../../src/deliveries/sqlite-store';
import type { DeliveryStore } from '../../src/deliveries/types';
import { createApp, type AppDeps } from '../../src/http/create-app';
import { createLogger, type Logger } from '../../src/logger';
import { loadMappings } from '../../src/mappings/load-mappings';
import type { MappingSet } from '../../src/mappings/types';

/**
 * What the harness opened for this test file (stores, temp folders): closed and removed after its
 * last test, whatever the test itself closed (closing a store twice is harmless). Jest loads this
 * module once per test file, so the hook below belongs to the file that imports it.
 */
const opened = { stores: [] as DeliveryStore[], dirs: [] as string[] };
afterAll(async () => {
  const stores = opened.stores.splice(0);
  await Promise.all(stores.map((store) => store.close().catch(() => undefined)));
  for (const dir of opened.dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** A temp folder removed after the test file. */
export function tempFolder(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  opened.dirs.push(dir);
  return dir;
}

/** A folder of mapping files written by the test (removed after the test file). */
export function mappingsDir(files: Record<string, string>): string {
  const dir = tempFolder('flowhook-mappings-');
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

/** A logger whose lines the test can read (parsed JSON). */
export function memoryLogger(): {
  logger: Logger;
  lines: () => Record<string, unknown>[];
  text: () => string;
} {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      chunks.push(String(chunk));
      callback();
    },
  });
  const logger = createLogger('debug', stream);
  const text = () => chunks.join('');
  const lines = () =>
    text()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { logger, lines, text };
}

export interface TestApp {
  app: Express;
  mappings: MappingSet;
  logs: ReturnType<typeof memoryLogger>;
  store: DeliveryStore;
}

/** A real SQLite delivery store in a fresh temporary folder (both gone after the test file). */
export function testStore(): DeliveryStore {
  const store = openSqliteStore({ dataDir: tempFolder('flowhook-data-') });
  opened.stores.push(store);
  return store;
}

export const TOKEN = 'flow-api-token-do-not-leak';
export const ORG = 'org-1';

/** createApp() on a mappings folder; `flowBaseUrl` undefined = dry-run. */
export function buildApp(options: {
  files: Record<string, string>;
  env?: Record<string, string>;
  flowBaseUrl?: string;
  timeoutMs?: number;
  bodyLimit?: number;
  now?: () => number;
  store?: DeliveryStore;
  onQueued?: () => void;
  config?: Partial<AppDeps['config']>;
  consoleDir?: string;
}): TestApp {
  const mappings = loadMappings(mappingsDir(options.files), options.env ?? {});
  const logs = memoryLogger();
  const flowClient =
    options.flowBaseUrl === undefined
      ? undefined
      : createFlowClient({
          baseUrl: options.flowBaseUrl,
          token: TOKEN,
          timeoutMs: options.timeoutMs ?? 2000,
        });
  const store = options.store ?? testStore();
  const app = createApp({
    config: {
      bodyLimit: options.bodyLimit ?? 1024 * 1024,
      flowOrgId: ORG,
      dryRun: flowClient === undefined,
      ...(flowClient === undefined ? {} : { flowApiToken: TOKEN }),
      ...options.config,
    },
    logger: logs.logger,
    mappings: () => mappings,
    flowClient,
    now: options.now,
    store,
    onQueued: options.onQueued,
    env: options.env ?? {},
    consoleDir: options.consoleDir,
  });
  return { app, mappings, logs, store };
}

export function githubSignature(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export function fixture(...parts: string[]): string {
  return fs.readFileSync(path.join(__dirname, '..', 'fixtures', ...parts), 'utf8');
}
