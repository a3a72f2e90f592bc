import path from 'node:path';
import { ConfigError, loadConfig } from '../src/config';

describe('loadConfig', () => {
  it('an empty environment gives the embedded defaults and dry-run', () => {
    const config = loadConfig({}, '/srv/app');
    expect(config).toEqual({
      flowBaseUrl: undefined,
      flowOrgId: undefined,
      flowApiToken: undefined,
      port: 3000,
      host: '0.0.0.0',
      mappingsDir: path.resolve('/srv/app', 'mappings'),
      mappingsWatch: 'on',
      dataDir: path.resolve('/srv/app', 'data'),
      databaseUrl: undefined,
      databasePoolSize: 10,
      bodyLimit: 1024 * 1024,
      executeBodyLimit: 2 * 1024 * 1024,
      flowTimeoutMs: 10_000,
      trustProxy: false,
      logLevel: 'info',
      dryRun: true,
      idempotencyWindowMs: 24 * 3_600_000,
      retentionMs: 7 * 86_400_000,
      storeSync: 'full',
      workerConcurrency: 32,
      retryMaxAttempts: 25,
      retryMaxAgeMs: 24 * 3_600_000,
      adminToken: undefined,
      headersTimeoutMs: 20_000,
      requestTimeoutMs: 30_000,
      keepAliveTimeoutMs: 65_000,
      maxConnections: 512,
      refusedBodyLimit: 8192,
      storeMaxBytes: undefined,
      consoleEdit: false,
      responseUrlAllow: ['https://hooks.slack.com'],
      flowMaxConcurrency: undefined,
      flowRate: undefined,
      circuit: { failureRatio: 0.5, windowMs: 60_000, minCalls: 10, coolDownMs: 30_000 },
      metrics: true,
      metricsToken: undefined,
      logFormat: 'json',
      tracing: undefined,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads every variable', () => {
    const config = loadConfig(
      {
        FLOW_BASE_URL: 'https://flows.example.com/api/',
        FLOW_ORG_ID: 'org',
        FLOW_API_TOKEN: 'tok',
        PORT: '8080',
        HOST: '127.0.0.1',
        MAPPINGS_DIR: '/etc/flowhook',
        DATA_DIR: 'state',
        BODY_LIMIT: '512kb',
        FLOW_TIMEOUT: '2500ms',
        LOG_LEVEL: 'debug',
      },
      '/srv/app',
    );
    expect(config).toMatchObject({
      flowBaseUrl: 'https://flows.example.com/api',
      flowOrgId: 'org',
      flowApiToken: 'tok',
      port: 8080,
      host: '127.0.0.1',
      mappingsDir: '/etc/flowhook',
      dataDir: '/srv/app/state',
      bodyLimit: 512 * 1024,
      flowTimeoutMs: 2500,
      logLevel: 'debug',
      dryRun: false,
    });
  });

  it.each([
    [{ BODY_LIMIT: '2mb' }, 'bodyLimit', 2 * 1024 * 1024],
    [{ BODY_LIMIT: '4096' }, 'bodyLimit', 4096],
    [{}, 'executeBodyLimit', 2 * 1024 * 1024],
    [{ EXECUTE_BODY_LIMIT: '256kb' }, 'executeBodyLimit', 256 * 1024],
    [{ FLOW_TIMEOUT: '8s' }, 'flowTimeoutMs', 8000],
    [{ FLOW_TIMEOUT: '1m' }, 'flowTimeoutMs', 60_000],
    [{ IDEMPOTENCY_WINDOW: '2d' }, 'idempotencyWindowMs', 2 * 86_400_000],
    [{ RETENTION: '30d' }, 'retentionMs', 30 * 86_400_000],
    [{ STORE_SYNC: 'normal' }, 'storeSync', 'normal'],
    [{ WORKER_CONCURRENCY: '32' }, 'workerConcurrency', 32],
    [{ RETRY_MAX_ATTEMPTS: '3' }, 'retryMaxAttempts', 3],
    [{ RETRY_MAX_AGE: '6h' }, 'retryMaxAgeMs', 6 * 3_600_000],
    [{ PORT: '' }, 'port', 3000],
    [{ MAPPINGS_WATCH: 'poll' }, 'mappingsWatch', 'poll'],
    [{ MAPPINGS_WATCH: 'off' }, 'mappingsWatch', 'off'],
    [{ TRUST_PROXY: 'true' }, 'trustProxy', true],
    [{ TRUST_PROXY: 'false' }, 'trustProxy', false],
    [{ TRUST_PROXY: '2' }, 'trustProxy', 2],
    [{ TRUST_PROXY: 'loopback, 10.0.0.0/8,::1' }, 'trustProxy', 'loopback, 10.0.0.0/8, ::1'],
    [{ ADMIN_TOKEN: '0123456789abcdef' }, 'adminToken', '0123456789abcdef'],
    [
      { ADMIN_TOKEN: '  admin-token-of-32-chars-long-xx ' },
      'adminToken',
      'admin-token-of-32-chars-long-xx',
    ],
    [{ ADMIN_TOKEN: '' }, 'adminToken', undefined],
    [{ DATABASE_URL: 'postgres://u:p@db:5432/fh' }, 'databaseUrl', 'postgres://u:p@db:5432/fh'],
    [{ DATABASE_URL: 'postgresql://db/fh' }, 'databaseUrl', 'postgresql://db/fh'],
    [{ DATABASE_POOL_SIZE: '25' }, 'databasePoolSize', 25],
    [{ RETENTION: '24h', IDEMPOTENCY_WINDOW: '24h' }, 'retentionMs', 24 * 3_600_000],
    [{ HEADERS_TIMEOUT: '500ms' }, 'headersTimeoutMs', 500],
    [{ REQUEST_TIMEOUT: '1m' }, 'requestTimeoutMs', 60_000],
    [{ KEEPALIVE_TIMEOUT: '5s' }, 'keepAliveTimeoutMs', 5000],
    [{ MAX_CONNECTIONS: '2000' }, 'maxConnections', 2000],
    [{ REFUSED_BODY_LIMIT: '0' }, 'refusedBodyLimit', 0],
    [{ REFUSED_BODY_LIMIT: '64kb' }, 'refusedBodyLimit', 64 * 1024],
    [{ STORE_MAX_SIZE: '20gb' }, 'storeMaxBytes', 20 * 1024 ** 3],
    [{ STORE_MAX_SIZE: '512mb' }, 'storeMaxBytes', 512 * 1024 ** 2],
    [{ METRICS: 'off' }, 'metrics', false],
    [{ METRICS: 'on' }, 'metrics', true],
    [{ METRICS_TOKEN: 'metrics-token-0123456789' }, 'metricsToken', 'metrics-token-0123456789'],
    [{ LOG_FORMAT: 'pretty' }, 'logFormat', 'pretty'],
    [
      { OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' },
      'tracing',
      undefined,
    ],
    [
      { OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' },
      'tracing',
      undefined,
    ],
  ])('%j → %s = %s', (env, key, expected) => {
    expect(loadConfig(env)[key as 'port']).toBe(expected);
  });

  it.each([
    [{ PORT: 'eighty' }, /^PORT: /],
    [{ PORT: '70000' }, /^PORT: /],
    [{ FLOW_BASE_URL: 'not a url', FLOW_ORG_ID: 'o', FLOW_API_TOKEN: 't' }, /^FLOW_BASE_URL: /],
    [{ FLOW_BASE_URL: 'ftp://x', FLOW_ORG_ID: 'o', FLOW_API_TOKEN: 't' }, /^FLOW_BASE_URL: .*http/],
    [
      { FLOW_BASE_URL: 'https://u:p@x', FLOW_ORG_ID: 'o', FLOW_API_TOKEN: 't' },
      /^FLOW_BASE_URL: .*credentials/,
    ],
    [{ FLOW_BASE_URL: 'https://x', FLOW_API_TOKEN: 't' }, /^FLOW_ORG_ID: is required/],
    [{ FLOW_BASE_URL: 'https://x', FLOW_ORG_ID: 'o' }, /^FLOW_API_TOKEN: is required/],
    [{ BODY_LIMIT: '1gb' }, /^BODY_LIMIT: /],
    [{ BODY_LIMIT: '100mb' }, /^BODY_LIMIT: /],
    [{ EXECUTE_BODY_LIMIT: '100mb' }, /^EXECUTE_BODY_LIMIT: /],
    [{ FLOW_TIMEOUT: 'soon' }, /^FLOW_TIMEOUT: /],
    [{ FLOW_TIMEOUT: '0s' }, /^FLOW_TIMEOUT: /],
    [{ LOG_LEVEL: 'loud' }, /^LOG_LEVEL: /],
    [{ RETENTION: '10s' }, /^RETENTION: /],
    [{ STORE_SYNC: 'off' }, /^STORE_SYNC: must be one of full, normal/],
    [{ WORKER_CONCURRENCY: '0' }, /^WORKER_CONCURRENCY: /],
    [{ IDEMPOTENCY_WINDOW: 'forever' }, /^IDEMPOTENCY_WINDOW: /],
    [{ MAPPINGS_WATCH: 'yes' }, /^MAPPINGS_WATCH: must be one of on, poll, off/],
    [{ TRUST_PROXY: 'yes' }, /^TRUST_PROXY: "yes" is not/],
    [{ TRUST_PROXY: '10.0.0.0/33' }, /^TRUST_PROXY: "10.0.0.0\/33" is not/],
    [{ TRUST_PROXY: 'loopback, proxy.internal' }, /^TRUST_PROXY: "proxy.internal" is not/],
    [{ ADMIN_TOKEN: 'short' }, /^ADMIN_TOKEN: must be at least 16 characters/],
    [{ ADMIN_TOKEN: '0123456789abcde' }, /^ADMIN_TOKEN: must be at least 16 characters/],
    [{ ADMIN_TOKEN: '0123456789 abcdef' }, /^ADMIN_TOKEN: must be printable ASCII without spaces/],
    [{ DATABASE_URL: 'mysql://u:p@db/fh' }, /^DATABASE_URL: must start with postgres:\/\//],
    [{ DATABASE_URL: 'db:5432' }, /^DATABASE_URL: must start with postgres/],
    [{ DATABASE_URL: 'postgres://u:p@:5432' }, /^DATABASE_URL: /],
    [{ DATABASE_POOL_SIZE: '0' }, /^DATABASE_POOL_SIZE: /],
    // Issue 9, item 16: a repeat of a pruned delivery would run again.
    [{ RETENTION: '1h' }, /^RETENTION: must be at least IDEMPOTENCY_WINDOW/],
    [
      { RETENTION: '2d', IDEMPOTENCY_WINDOW: '3d' },
      /^RETENTION: must be at least IDEMPOTENCY_WINDOW/,
    ],
    [{ HEADERS_TIMEOUT: '40s' }, /^HEADERS_TIMEOUT: must not be longer than REQUEST_TIMEOUT/],
    [{ REQUEST_TIMEOUT: '10ms' }, /^REQUEST_TIMEOUT: /],
    [{ KEEPALIVE_TIMEOUT: 'forever' }, /^KEEPALIVE_TIMEOUT: /],
    [{ MAX_CONNECTIONS: '0' }, /^MAX_CONNECTIONS: /],
    [{ STORE_MAX_SIZE: '10kb' }, /^STORE_MAX_SIZE: /],
    [{ REFUSED_BODY_LIMIT: 'some' }, /^REFUSED_BODY_LIMIT: /],
  ])('%j stops the start with one line naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it.each([
    [{ METRICS: 'no' }, /^METRICS: must be one of on, off/],
    [{ METRICS_TOKEN: 'short' }, /^METRICS_TOKEN: must be at least 16 characters/],
    [{ METRICS_TOKEN: 'has a space in it 0123' }, /^METRICS_TOKEN: must be printable ASCII/],
    [{ LOG_FORMAT: 'yaml' }, /^LOG_FORMAT: must be one of json, pretty/],
    [
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' },
      /^OTEL_EXPORTER_OTLP_ENDPOINT: must be an http/,
    ],
    [
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' },
      /^OTEL_EXPORTER_OTLP_PROTOCOL: must be one of http\/protobuf, http\/json/,
    ],
    [{ OTEL_TRACES_EXPORTER: 'zipkin' }, /^OTEL_TRACES_EXPORTER: "zipkin" is not supported/],
    [
      { OTEL_TRACES_EXPORTER: 'otlp', OTEL_TRACES_SAMPLER: 'sometimes' },
      /^OTEL_TRACES_SAMPLER: must be one of/,
    ],
    [
      {
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_TRACES_SAMPLER: 'traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '2',
      },
      /^OTEL_TRACES_SAMPLER_ARG: "2" is not a ratio/,
    ],
  ])('observability: %j → %s', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('tracing: the OTLP endpoint turns it on, with the standard defaults (issue 12)', () => {
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).tracing).toEqual({
      url: 'http://collector:4318/v1/traces',
      protocol: 'http/protobuf',
      serviceName: 'flowhook',
      sampler: { name: 'parentbased_always_on', ratio: 1 },
      scheduleDelayMs: undefined,
    });
    expect(
      loadConfig({
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://otel.example/traces',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_SERVICE_NAME: 'hooks-eu',
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0.25',
        OTEL_BSP_SCHEDULE_DELAY: '200',
      }).tracing,
    ).toEqual({
      url: 'https://otel.example/traces',
      protocol: 'http/json',
      serviceName: 'hooks-eu',
      sampler: { name: 'parentbased_traceidratio', ratio: 0.25 },
      scheduleDelayMs: 200,
    });
    expect(loadConfig({ OTEL_TRACES_EXPORTER: 'otlp' }).tracing?.url).toBe(
      'http://localhost:4318/v1/traces',
    );
  });

  it('a METRICS_TOKEN error never repeats the token', () => {
    expect(() => loadConfig({ METRICS_TOKEN: 'tiny-metrics' })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('tiny-metrics') }),
    );
  });

  it('a DATABASE_URL error never repeats the password (issue 11)', () => {
    for (const url of ['mysql://u:pg-s3cret@db/fh', 'postgres://u:pg-s3cret@ bad host/fh']) {
      expect(() => loadConfig({ DATABASE_URL: url })).toThrow(
        expect.objectContaining({ message: expect.not.stringContaining('pg-s3cret') }),
      );
    }
  });

  it('an ADMIN_TOKEN error never repeats the token', () => {
    expect(() => loadConfig({ ADMIN_TOKEN: 'tiny-secret' })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('tiny-secret') }),
    );
  });

  it('the error never repeats the token', () => {
    expect(() => loadConfig({ FLOW_BASE_URL: 'nope', FLOW_API_TOKEN: 'sekret-token' })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('sekret-token') }),
    );
  });
});
