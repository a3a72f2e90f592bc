import { isIP } from 'node:net';
import path from 'node:path';
import { parseRate, type Rate } from './limits/parse-rate';

/** The whole configuration, read once at start from the environment (README: Configuration). */
export interface Config {
  /** Unset = dry-run: everything runs but the execute call. */
  readonly flowBaseUrl: string | undefined;
  readonly flowOrgId: string | undefined;
  readonly flowApiToken: string | undefined;
  readonly port: number;
  readonly host: string;
  readonly mappingsDir: string;
  /** Hot reload of MAPPINGS_DIR: on (inotify and the like), poll (network or bind-mounted folders), off. */
  readonly mappingsWatch: 'on' | 'poll' | 'off';
  readonly dataDir: string;
  /**
   * PostgreSQL connection string: set, every instance using it shares one delivery store
   * (docs/scaling.md); unset, the SQLite file in dataDir. Holds a password: never log it (see
   * redactDatabaseUrl).
   */
  readonly databaseUrl: string | undefined;
  /** Connections each instance keeps to PostgreSQL at most. */
  readonly databasePoolSize: number;
  /** Largest request body accepted, in bytes (413 past it). */
  readonly bodyLimit: number;
  /** Largest execute body (the variables of one execution, as JSON), in bytes (422 past it). */
  readonly executeBodyLimit: number;
  /** How long one execute call may take before it is answered 504, in ms. */
  readonly flowTimeoutMs: number;
  /**
   * Which proxies' X-Forwarded-Proto/-Host/-For to believe when rebuilding the URL the sender used
   * (URL-signing presets need it): false, true (any: only behind a proxy that overwrites them),
   * a hop count, or addresses/CIDRs/`loopback`/`linklocal`/`uniquelocal` (Express's 'trust proxy').
   */
  readonly trustProxy: boolean | number | string;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  readonly dryRun: boolean;
  /** A repeat of a delivery (same idempotency key) within this window gets the first answer. */
  readonly idempotencyWindowMs: number;
  /** SQLite durability: full (a commit survives power loss) or normal (survives a process crash). */
  readonly storeSync: 'full' | 'normal';
  /** Finished deliveries older than this are deleted. */
  readonly retentionMs: number;
  /** Deliveries the worker of this process executes at once. */
  readonly workerConcurrency: number;
  /** Attempts per delivery (the first included) and the age past which it is dead. */
  readonly retryMaxAttempts: number;
  readonly retryMaxAgeMs: number;
  /** Bearer token for the admin API (/api/*); unset = the admin API does not exist. */
  readonly adminToken: string | undefined;
  /** Execute calls at once across all flows and instances (FLOW_MAX_CONCURRENCY); unset = none. */
  readonly flowMaxConcurrency: number | undefined;
  /** Execute calls per time across all flows and instances (FLOW_RATE); unset = none. */
  readonly flowRate: Rate | undefined;
  /** The circuit breaker, per flow (docs/limits.md). */
  readonly circuit: CircuitConfig;
  /** A connection whose request headers have not all arrived by then is closed (408), in ms. */
  readonly headersTimeoutMs: number;
  /** A connection whose whole request (headers and body) has not arrived by then is closed, in ms. */
  readonly requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this, in ms. */
  readonly keepAliveTimeoutMs: number;
  /** Open connections at most; more are closed as they arrive (and logged). */
  readonly maxConnections: number;
  /** The part of a refused request's body (400, 415, 422) that is stored, in bytes. */
  readonly refusedBodyLimit: number;
  /** The delivery store's size past which new deliveries get 503, in bytes; undefined = no cap. */
  readonly storeMaxBytes: number | undefined;
  /** CONSOLE_EDIT=on: the console may save a draft mapping to MAPPINGS_DIR. */
  readonly consoleEdit: boolean;
  /**
   * Where a late answer may be POSTed (a request's Slack response_url), as origins
   * (`https://hooks.slack.com`): a bare host allows HTTPS to it, an entry with a scheme exactly
   * that origin.
   */
  readonly responseUrlAllow: readonly string[];
  /** METRICS: GET /metrics (Prometheus) exists and the metrics are counted; off removes both. */
  readonly metrics: boolean;
  /** METRICS_TOKEN: /metrics needs `Authorization: Bearer <token>`; unset = open. */
  readonly metricsToken: string | undefined;
  /** LOG_FORMAT: json lines (default), or pretty (pino-pretty, for a terminal). */
  readonly logFormat: 'json' | 'pretty';
  /** OpenTelemetry traces from the standard OTEL_* variables; undefined = tracing off. */
  readonly tracing: TracingConfig | undefined;
}

export interface TracingConfig {
  /** Where spans are POSTed (OTLP/HTTP), the /v1/traces path included. */
  readonly url: string;
  readonly protocol: 'http/protobuf' | 'http/json';
  readonly serviceName: string;
  readonly sampler: TracingSampler;
  /** OTEL_BSP_SCHEDULE_DELAY: how long spans wait to be sent in a batch, in ms. */
  readonly scheduleDelayMs: number | undefined;
}

/** OTEL_TRACES_SAMPLER and its argument (a ratio for the traceidratio ones). */
export interface TracingSampler {
  readonly name:
    | 'always_on'
    | 'always_off'
    | 'traceidratio'
    | 'parentbased_always_on'
    | 'parentbased_always_off'
    | 'parentbased_traceidratio';
  readonly ratio: number;
}

export interface CircuitConfig {
  /** The share of failed attempts (0–1) in a window that opens the circuit. */
  readonly failureRatio: number;
  /** How long the window of counted attempts is, in ms. */
  readonly windowMs: number;
  /** Attempts a window needs before its share counts. */
  readonly minCalls: number;
  /** How long an open circuit lets nothing through before its probe, in ms. */
  readonly coolDownMs: number;
}

export class ConfigError extends Error {
  constructor(variable: string, problem: string) {
    super(`${variable}: ${problem}`);
    this.name = 'ConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, kb: 1024, mb: 1024 ** 2 };
const STORE_SIZE_UNITS: Record<string, number> = { ...SIZE_UNITS, gb: 1024 ** 3 };
const TIME_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};
const DAY = 86_400_000;

/** Reads and validates the environment; throws ConfigError naming the first bad variable. */
export function loadConfig(env: Env = process.env, cwd = process.cwd()): Config {
  const value = (name: string): string | undefined => {
    const raw = env[name];
    return raw === undefined || raw.trim() === '' ? undefined : raw.trim();
  };

  const flowBaseUrl = value('FLOW_BASE_URL');
  if (flowBaseUrl !== undefined) {
    let url: URL;
    try {
      url = new URL(flowBaseUrl);
    } catch {
      throw new ConfigError('FLOW_BASE_URL', `"${flowBaseUrl}" is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new ConfigError('FLOW_BASE_URL', 'must start with http:// or https://');
    }
    if (url.username || url.password) {
      throw new ConfigError('FLOW_BASE_URL', 'must not carry credentials; use FLOW_API_TOKEN');
    }
    for (const name of ['FLOW_ORG_ID', 'FLOW_API_TOKEN']) {
      if (value(name) === undefined) {
        throw new ConfigError(name, 'is required when FLOW_BASE_URL is set');
      }
    }
  }

  const logLevel = oneOf('LOG_LEVEL', value('LOG_LEVEL') ?? 'info', LOG_LEVELS);
  const idempotencyWindowMs = withUnit(
    'IDEMPOTENCY_WINDOW',
    value('IDEMPOTENCY_WINDOW') ?? '24h',
    TIME_UNITS,
    1000,
    30 * DAY,
  );
  const retentionMs = withUnit(
    'RETENTION',
    value('RETENTION') ?? '7d',
    TIME_UNITS,
    60_000,
    3650 * DAY,
  );
  if (retentionMs < idempotencyWindowMs) {
    // A pruned delivery's key is forgotten: a repeat of it inside the window would run again
    // (issue 9, item 16).
    throw new ConfigError(
      'RETENTION',
      `must be at least IDEMPOTENCY_WINDOW: a repeat of a delivery pruned inside the window would run again`,
    );
  }
  const timeout = (name: string, fallback: string) =>
    withUnit(name, value(name) ?? fallback, TIME_UNITS, 50, 3_600_000);
  const headersTimeoutMs = timeout('HEADERS_TIMEOUT', '20s');
  const requestTimeoutMs = timeout('REQUEST_TIMEOUT', '30s');
  if (headersTimeoutMs > requestTimeoutMs) {
    throw new ConfigError('HEADERS_TIMEOUT', 'must not be longer than REQUEST_TIMEOUT');
  }

  return Object.freeze({
    flowBaseUrl: flowBaseUrl?.replace(/\/+$/, ''),
    flowOrgId: value('FLOW_ORG_ID'),
    flowApiToken: value('FLOW_API_TOKEN'),
    port: integer('PORT', value('PORT'), 3000, 0, 65535),
    host: value('HOST') ?? '0.0.0.0',
    mappingsDir: path.resolve(cwd, value('MAPPINGS_DIR') ?? 'mappings'),
    mappingsWatch: oneOf('MAPPINGS_WATCH', value('MAPPINGS_WATCH') ?? 'on', ['on', 'poll', 'off']),
    dataDir: path.resolve(cwd, value('DATA_DIR') ?? 'data'),
    databaseUrl: databaseUrl(value('DATABASE_URL')),
    databasePoolSize: integer('DATABASE_POOL_SIZE', value('DATABASE_POOL_SIZE'), 10, 1, 200),
    bodyLimit: withUnit('BODY_LIMIT', value('BODY_LIMIT') ?? '1mb', SIZE_UNITS, 1, 64 * 1024 ** 2),
    executeBodyLimit: withUnit(
      'EXECUTE_BODY_LIMIT',
      value('EXECUTE_BODY_LIMIT') ?? '2mb',
      SIZE_UNITS,
      1,
      64 * 1024 ** 2,
    ),
    flowTimeoutMs: withUnit('FLOW_TIMEOUT', value('FLOW_TIMEOUT') ?? '10s', TIME_UNITS, 1, 600_000),
    trustProxy: trustProxy(value('TRUST_PROXY')),
    logLevel,
    dryRun: flowBaseUrl === undefined,
    idempotencyWindowMs,
    storeSync: oneOf('STORE_SYNC', value('STORE_SYNC') ?? 'full', ['full', 'normal']),
    retentionMs,
    workerConcurrency: integer('WORKER_CONCURRENCY', value('WORKER_CONCURRENCY'), 32, 1, 1000),
    retryMaxAttempts: integer('RETRY_MAX_ATTEMPTS', value('RETRY_MAX_ATTEMPTS'), 25, 1, 1000),
    retryMaxAgeMs: withUnit(
      'RETRY_MAX_AGE',
      value('RETRY_MAX_AGE') ?? '24h',
      TIME_UNITS,
      1000,
      30 * DAY,
    ),
    adminToken: adminToken(value('ADMIN_TOKEN')),
    flowMaxConcurrency:
      value('FLOW_MAX_CONCURRENCY') === undefined
        ? undefined
        : integer('FLOW_MAX_CONCURRENCY', value('FLOW_MAX_CONCURRENCY'), 0, 1, 100_000),
    flowRate: rate('FLOW_RATE', value('FLOW_RATE')),
    circuit: {
      failureRatio:
        integer('CIRCUIT_FAILURE_PERCENT', value('CIRCUIT_FAILURE_PERCENT'), 50, 1, 100) / 100,
      windowMs: withUnit('CIRCUIT_WINDOW', value('CIRCUIT_WINDOW') ?? '60s', TIME_UNITS, 100, DAY),
      minCalls: integer('CIRCUIT_MIN_CALLS', value('CIRCUIT_MIN_CALLS'), 10, 1, 100_000),
      coolDownMs: withUnit(
        'CIRCUIT_COOLDOWN',
        value('CIRCUIT_COOLDOWN') ?? '30s',
        TIME_UNITS,
        100,
        DAY,
      ),
    },
    headersTimeoutMs,
    requestTimeoutMs,
    keepAliveTimeoutMs: timeout('KEEPALIVE_TIMEOUT', '65s'),
    maxConnections: integer('MAX_CONNECTIONS', value('MAX_CONNECTIONS'), 512, 1, 1_000_000),
    refusedBodyLimit: withUnit(
      'REFUSED_BODY_LIMIT',
      value('REFUSED_BODY_LIMIT') ?? '8kb',
      SIZE_UNITS,
      0,
      64 * 1024 ** 2,
    ),
    storeMaxBytes: storeMaxSize(value('STORE_MAX_SIZE')),
    consoleEdit: oneOf('CONSOLE_EDIT', value('CONSOLE_EDIT') ?? 'off', ['on', 'off']) === 'on',
    responseUrlAllow: responseUrlAllow(value('RESPONSE_URL_ALLOW') ?? 'hooks.slack.com'),
    metrics: oneOf('METRICS', value('METRICS') ?? 'on', ['on', 'off']) === 'on',
    metricsToken: bearerToken('METRICS_TOKEN', value('METRICS_TOKEN')),
    logFormat: oneOf('LOG_FORMAT', value('LOG_FORMAT') ?? 'json', ['json', 'pretty']),
    tracing: tracing(value),
  });
}

/** A postgres:// URL; the messages never repeat it (it carries the password). */
function databaseUrl(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(
      'DATABASE_URL',
      'is not a URL; expected postgres://user:password@host:5432/database',
    );
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError('DATABASE_URL', 'must start with postgres:// or postgresql://');
  }
  if (url.hostname === '' && !url.searchParams.has('host')) {
    throw new ConfigError('DATABASE_URL', 'names no host');
  }
  return raw;
}

function rate(name: string, raw: string | undefined): Rate | undefined {
  if (raw === undefined) return undefined;
  const parsed = parseRate(raw);
  if (parsed === undefined) {
    throw new ConfigError(name, `"${raw}" is not a rate such as 50/s, 600/min or 1000/h`);
  }
  return parsed;
}

/** STORE_MAX_SIZE: at least 1 MiB (an empty store is about 100 KiB), or unset for no cap. */
function storeMaxSize(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  return withUnit('STORE_MAX_SIZE', raw, STORE_SIZE_UNITS, 1024 ** 2, 1024 ** 5);
}

/** Long enough not to be guessed over the network; the value itself is never repeated. */
const MIN_ADMIN_TOKEN_LENGTH = 16;

function adminToken(raw: string | undefined): string | undefined {
  return bearerToken('ADMIN_TOKEN', raw);
}

/** ADMIN_TOKEN, METRICS_TOKEN: long enough not to be guessed, one word of printable ASCII. */
function bearerToken(name: string, raw: string | undefined): string | undefined {
  if (raw !== undefined && raw.length < MIN_ADMIN_TOKEN_LENGTH) {
    throw new ConfigError(
      name,
      `must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters (e.g. openssl rand -hex 32)`,
    );
  }
  // It travels as `Authorization: Bearer <token>`: one word of printable ASCII.
  if (!/^[\x21-\x7e]+$/.test(raw ?? 'x')) {
    throw new ConfigError(name, 'must be printable ASCII without spaces');
  }
  return raw;
}

const SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;

/**
 * Tracing from OpenTelemetry's standard variables: on when an OTLP endpoint is set (or
 * OTEL_TRACES_EXPORTER=otlp, which means the default http://localhost:4318), off otherwise or when
 * OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none. Only OTLP over HTTP is spoken (protobuf by
 * default, or JSON).
 */
function tracing(value: (name: string) => string | undefined): TracingConfig | undefined {
  if (value('OTEL_SDK_DISABLED')?.toLowerCase() === 'true') return undefined;
  const exporters = (value('OTEL_TRACES_EXPORTER') ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  for (const name of exporters) {
    if (name !== 'otlp' && name !== 'none') {
      throw new ConfigError('OTEL_TRACES_EXPORTER', `"${name}" is not supported; use otlp or none`);
    }
  }
  if (exporters.includes('none')) return undefined;
  const tracesEndpoint = value('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  const endpoint = value('OTEL_EXPORTER_OTLP_ENDPOINT');
  if (tracesEndpoint === undefined && endpoint === undefined && !exporters.includes('otlp')) {
    return undefined;
  }
  // The signal's own endpoint is used as given; the general one gets the signal's path.
  const url =
    tracesEndpoint ?? `${(endpoint ?? 'http://localhost:4318').replace(/\/+$/, '')}/v1/traces`;
  const name =
    tracesEndpoint !== undefined
      ? 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'
      : 'OTEL_EXPORTER_OTLP_ENDPOINT';
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw new ConfigError(name, 'must be an http:// or https:// URL (OTLP over HTTP)');
  }
  const protocolName = value('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL')
    ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'
    : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const protocol = oneOf(protocolName, value(protocolName) ?? 'http/protobuf', [
    'http/protobuf',
    'http/json',
  ]);
  const sampler = oneOf(
    'OTEL_TRACES_SAMPLER',
    value('OTEL_TRACES_SAMPLER') ?? 'parentbased_always_on',
    SAMPLERS,
  );
  const arg = value('OTEL_TRACES_SAMPLER_ARG');
  const ratio = arg === undefined ? 1 : Number(arg);
  if (sampler.endsWith('traceidratio') && !(ratio >= 0 && ratio <= 1)) {
    throw new ConfigError('OTEL_TRACES_SAMPLER_ARG', `"${arg}" is not a ratio from 0 to 1`);
  }
  const delay = value('OTEL_BSP_SCHEDULE_DELAY');
  return {
    url,
    protocol,
    serviceName: value('OTEL_SERVICE_NAME') ?? 'flowhook',
    sampler: { name: sampler, ratio },
    scheduleDelayMs:
      delay === undefined ? undefined : integer('OTEL_BSP_SCHEDULE_DELAY', delay, 0, 0, 600_000),
  };
}

/** "hooks.slack.com, http://127.0.0.1:8080" → ["https://hooks.slack.com", "http://127.0.0.1:8080"] */
function responseUrlAllow(raw: string): string[] {
  return raw
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const withScheme = entry.includes('://');
      let url: URL | undefined;
      try {
        url = new URL(withScheme ? entry : `https://${entry}`);
      } catch {
        url = undefined;
      }
      const bare = url !== undefined && (url.pathname === '/' || url.pathname === '');
      if (
        !url ||
        !['http:', 'https:'].includes(url.protocol) ||
        url.username ||
        url.password ||
        !bare ||
        url.search ||
        url.hash ||
        (!withScheme && url.host !== entry.toLowerCase())
      ) {
        throw new ConfigError(
          'RESPONSE_URL_ALLOW',
          `"${entry}" is not a host (hooks.slack.com) or an origin (http://127.0.0.1:8080)`,
        );
      }
      return url.origin;
    });
}

function oneOf<T extends string>(name: string, raw: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(name, `must be one of ${allowed.join(', ')}`);
  }
  return raw as T;
}

const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

function trustProxy(raw: string | undefined): boolean | number | string {
  if (raw === undefined || raw === 'false') return false;
  if (raw === 'true') return true;
  if (/^\d+$/.test(raw)) return integer('TRUST_PROXY', raw, 0, 0, 32);
  const entries = raw.split(',').map((entry) => entry.trim());
  for (const entry of entries) {
    const [address, bits, extra] = entry.split('/');
    const ip = isIP(address ?? '');
    const validBits =
      bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= (ip === 6 ? 128 : 32));
    if (!PROXY_NAMES.has(entry) && !(ip !== 0 && validBits && extra === undefined)) {
      throw new ConfigError(
        'TRUST_PROXY',
        `"${entry}" is not true, false, a hop count, an IP address, a CIDR range, loopback, linklocal or uniquelocal`,
      );
    }
  }
  return entries.join(', ');
}

function integer(
  name: string,
  raw: string | undefined,
  fallback: number,
  min: number,
  max: number,
) {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(name, `"${raw}" is not a whole number from ${min} to ${max}`);
  }
  return Number(raw);
}

/** "512kb", "1mb", "250ms", "8s": a number and an optional unit from `units`. */
function withUnit(
  name: string,
  raw: string,
  units: Record<string, number>,
  min: number,
  max: number,
): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(raw);
  const unit = match?.[2]?.toLowerCase() ?? '';
  const scale = match ? units[unit] : undefined;
  const result = match && scale !== undefined ? Math.round(Number(match[1]) * scale) : NaN;
  if (!(result >= min && result <= max)) {
    const names = Object.keys(units).filter(Boolean).join(', ');
    throw new ConfigError(name, `"${raw}" is not a size/duration with unit ${names} in range`);
  }
  return result;
}
