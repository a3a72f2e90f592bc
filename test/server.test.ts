import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteStore } from '../src/deliveries/sqlite-store';
import { startServer, type RunningServer } from '../src/server';
import { FakeFlowApi } from './support/fake-flow-api';
import { mappingsDir, memoryLogger, tempFolder } from './support/harness';
import { until } from './support/until';

const SYNC = `
verify: { provider: token, header: X-Token, secret: tok }
replyWithin: 100ms
routes: [{ name: r, flow: f, variables: { n: $.n } }]
`;

/** startServer on loopback with a store and mappings of its own; `env` on top. */
async function start(env: Record<string, string> = {}, files = { 'sync.yaml': SYNC }) {
  const dataDir = tempFolder('flowhook-server-');
  const logs = memoryLogger();
  const running = await startServer(
    {
      HOST: '127.0.0.1',
      PORT: '0',
      MAPPINGS_DIR: mappingsDir(files),
      MAPPINGS_WATCH: 'off',
      DATA_DIR: dataDir,
      ...env,
    },
    logs.logger,
  );
  return { running, dataDir, logs };
}

/** A raw loopback socket to the server; `closed` resolves when the server closes it. */
function connect(
  port: number,
): Promise<{ socket: net.Socket; closed: () => boolean; data: () => string }> {
  return new Promise((resolve, reject) => {
    let closed = false;
    let data = '';
    const socket = net.connect(port, '127.0.0.1', () =>
      resolve({ socket, closed: () => closed, data: () => data }),
    );
    socket.on('data', (chunk) => (data += chunk));
    socket.on('close', () => (closed = true));
    socket.on('error', () => undefined); // a reset by the server ends it as well
    socket.once('error', reject);
  });
}

describe('server connections (issue 9, item 5)', () => {
  let running: RunningServer | undefined;
  const sockets: net.Socket[] = [];
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    await running?.close();
    running = undefined;
  });

  const timeouts = {
    HEADERS_TIMEOUT: '200ms',
    REQUEST_TIMEOUT: '400ms',
    KEEPALIVE_TIMEOUT: '200ms',
  };

  it('headers that never finish: the server closes the connection at HEADERS_TIMEOUT (408)', async () => {
    ({ running } = await start(timeouts));
    const client = await connect(running.port);
    sockets.push(client.socket);
    client.socket.write('POST /hooks/sync HTTP/1.1\r\nHost: x\r\n');
    await until(client.closed, 4000, 'the server to close the slow-headers socket');
    expect(client.data()).toMatch(/^HTTP\/1\.1 408/);
  });

  it('a body that never finishes: the server closes the connection at REQUEST_TIMEOUT', async () => {
    ({ running } = await start(timeouts));
    const client = await connect(running.port);
    sockets.push(client.socket);
    client.socket.write(
      'POST /hooks/sync HTTP/1.1\r\nHost: x\r\nX-Token: tok\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"n":',
    );
    await until(client.closed, 4000, 'the server to close the slow-body socket');
    expect(client.data()).toMatch(/^HTTP\/1\.1 408/);
  });

  it('an idle keep-alive connection is closed at KEEPALIVE_TIMEOUT', async () => {
    ({ running } = await start(timeouts));
    const client = await connect(running.port);
    sockets.push(client.socket);
    client.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
    await until(() => client.data().includes('"status":"ok"'), 4000, 'the healthz answer');
    expect(client.data()).toMatch(/^HTTP\/1\.1 200/);
    await until(client.closed, 4000, 'the server to close the idle keep-alive socket');
  });

  it('MAX_CONNECTIONS: the connection past the cap is closed at once, and that is logged', async () => {
    let logs: ReturnType<typeof memoryLogger>;
    ({ running, logs } = await start({ MAX_CONNECTIONS: '3', HEADERS_TIMEOUT: '10s' }));
    const held = await Promise.all([1, 2, 3].map(() => connect(running!.port)));
    sockets.push(...held.map((c) => c.socket));
    // Each of the three is open at the server once it answered a request on it.
    for (const c of held) c.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await until(() => held.every((c) => c.data().includes('"status":"ok"')), 4000, 'three answers');
    const extra = await connect(running.port);
    sockets.push(extra.socket);
    await until(extra.closed, 4000, 'the server to close the fourth connection');
    expect(held.some((c) => c.closed())).toBe(false);
    const line = logs.lines().find((l) => String(l.msg).startsWith('connection limit reached'));
    expect(line).toMatchObject({ level: 40, maxConnections: 3 });
  });
});

describe('server start and stop', () => {
  it('a failed listen closes the store, the watcher and the worker (issue 9, item 16)', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    const dataDir = tempFolder('flowhook-server-');
    const watchersBefore = watchers();
    try {
      await expect(
        startServer(
          {
            HOST: '127.0.0.1',
            PORT: String(port),
            MAPPINGS_DIR: mappingsDir({ 'sync.yaml': SYNC }),
            MAPPINGS_WATCH: 'on',
            DATA_DIR: dataDir,
          },
          memoryLogger().logger,
        ),
      ).rejects.toMatchObject({ code: 'EADDRINUSE' });
      // SQLite removes its write-ahead log when the last connection closes.
      expect(fs.existsSync(path.join(dataDir, 'flowhook.db'))).toBe(true);
      expect(fs.existsSync(path.join(dataDir, 'flowhook.db-wal'))).toBe(false);
      await until(() => watchers() === watchersBefore, 4000, 'the mappings watcher to close');
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('the limits work on the delivery store connection: the file is open once; a stop closes it (issue 15)', async () => {
    const api = await new FakeFlowApi().start();
    const { running, dataDir } = await start({
      FLOW_BASE_URL: api.url,
      FLOW_ORG_ID: 'o',
      FLOW_API_TOKEN: 'flow-token',
    });
    const file = path.join(dataDir, 'flowhook.db');
    try {
      // A delivery goes through the limits (acquire, the call's outcome counted, release).
      const res = await fetch(`http://127.0.0.1:${running.port}/hooks/sync`, {
        method: 'POST',
        headers: { 'X-Token': 'tok', 'Content-Type': 'application/json' },
        body: '{"n":1}',
      });
      expect(res.status).toBe(200);
      // Two connections (one per store) each dropped the other's page cache at every commit.
      expect(openDescriptorsOf(file)).toBe(1);
    } finally {
      await running.close();
      await api.stop();
    }
    expect(openDescriptorsOf(file)).toBe(0);
    // SQLite removes its write-ahead log when the last connection closes.
    expect(fs.existsSync(`${file}-wal`)).toBe(false);
    // The call's outcome was counted (the limits' write committed before the connection closed).
    const db = new Database(file, { readonly: true });
    try {
      expect(db.prepare('SELECT flow, window_calls FROM flow_states').all()).toEqual([
        { flow: 'o/f', window_calls: 1 },
      ]);
    } finally {
      db.close();
    }
  });

  it('a sync run that passes replyWithin after close() began is waited for and recorded (issue 9, item 11)', async () => {
    const api = await new FakeFlowApi().start();
    const { running, dataDir } = await start({
      FLOW_BASE_URL: api.url,
      FLOW_ORG_ID: 'o',
      FLOW_API_TOKEN: 'flow-token',
    });
    try {
      api.answerAfter(600); // longer than replyWithin (100 ms)
      const answer = fetch(`http://127.0.0.1:${running.port}/hooks/sync`, {
        method: 'POST',
        headers: { 'X-Token': 'tok', 'Content-Type': 'application/json' },
        body: '{"n":1}',
      }).then(async (res) => ({
        status: res.status,
        body: (await res.json()) as { deliveryId: string },
      }));
      // The execute call is under way, replyWithin has not passed yet: stop now.
      await until(() => api.requests.length === 1, 4000, 'the execute call');
      const closed = running.close();
      const { status, body } = await answer;
      expect(status).toBe(202);
      await closed;
      const store = openSqliteStore({ dataDir });
      try {
        expect(await store.get(body.deliveryId)).toMatchObject({
          state: 'succeeded',
          attempts: [{ outcome: 'succeeded' }],
        });
      } finally {
        await store.close();
      }
    } finally {
      await api.stop();
    }
  });
});

/** This process's open descriptors on `file` (Linux: /proc/self/fd). */
function openDescriptorsOf(file: string): number {
  const fds = fs.readdirSync('/proc/self/fd');
  return fds.filter((fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`) === file;
    } catch {
      return false; // closed meanwhile (the readdir's own descriptor)
    }
  }).length;
}

/** File-system watchers open in this process. */
function watchers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'FSEventWrap').length;
}

describe('startServer and /metrics (issue 12)', () => {
  it('serves the process metrics with flowhook’s', async () => {
    const { running, dataDir } = await start();
    try {
      const res = await fetch(`http://127.0.0.1:${running.port}/metrics`);
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text).toContain('process_resident_memory_bytes');
      expect(text).toContain('nodejs_eventloop_lag_p99_seconds');
      expect(text).toContain('flowhook_queue_depth{state="queued"} 0');
      expect(text).toContain('flowhook_ready 1');
    } finally {
      await running.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('METRICS=off: no /metrics', async () => {
    const { running, dataDir } = await start({ METRICS: 'off' });
    try {
      expect((await fetch(`http://127.0.0.1:${running.port}/metrics`)).status).toBe(404);
    } finally {
      await running.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
