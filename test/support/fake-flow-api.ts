import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly rawBody: string;
  readonly body: unknown;
  /** The status this fake answered (undefined while hanging). */
  status?: number;
  /** The flow id from the execute path (decoded). */
  readonly flowId: string;
  /** When the request arrived and when it was answered (Date.now()), for limits tests. */
  readonly receivedAt: number;
  answeredAt?: number;
}

export type Behaviour =
  | { kind: 'answer'; status: number; body: unknown; headers?: Record<string, string> }
  | { kind: 'hang' }
  /** Waits for release(), then 200 with a session: a test decides when the flow ends. */
  | { kind: 'held' }
  | { kind: 'slow'; ms: number }
  | { kind: 'trickle'; everyMs: number }
  | { kind: 'raw'; status: number; text: string };

/**
 * A real flow API on a random loopback port: records every request exactly as received and
 * answers as told (any status, a hang, raw text). `refusingUrl()` gives a port nothing listens on.
 */
export class FakeFlowApi {
  readonly requests: RecordedRequest[] = [];
  private behaviour: Behaviour = { kind: 'answer', status: 200, body: undefined };
  /** Answers for one flow only (by flow id), over the default behaviour. */
  private readonly perFlow = new Map<string, Behaviour>();
  private sessions = 0;
  private readonly server = http.createServer((req, res) => this.handle(req, res));
  private readonly hanging = new Set<http.ServerResponse>();
  /** Calls held until release(), each answering 200 when called. */
  private readonly held: (() => void)[] = [];

  /** Listens on `port` (default: any free one). */
  async start(port = 0): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    return this;
  }

  /** Whether start() was called (and stop() not since). */
  get listening(): boolean {
    return this.server.listening;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** 200 with a fresh sessionId (the default), or any other answer. */
  answer(status: number, body?: unknown, headers?: Record<string, string>): void {
    this.behaviour = { kind: 'answer', status, body, headers };
  }

  answerRaw(status: number, text: string): void {
    this.behaviour = { kind: 'raw', status, text };
  }

  /** 200 with a session, after `ms`. */
  answerAfter(ms: number): void {
    this.behaviour = { kind: 'slow', ms };
  }

  /** 200 headers at once, then the body one byte every `everyMs`, never finished. */
  trickle(everyMs: number): void {
    this.behaviour = { kind: 'trickle', everyMs };
  }

  hang(): void {
    this.behaviour = { kind: 'hang' };
  }

  /** Calls wait (recorded, unanswered) until release(): the test says when the flow ends. */
  hold(): void {
    this.behaviour = { kind: 'held' };
  }

  /** Answers every held call 200 with a session; later calls are answered at once. */
  release(): void {
    this.behaviour = { kind: 'answer', status: 200, body: undefined };
    for (const answer of this.held.splice(0)) answer();
  }

  /** How calls of one flow are answered from now on; undefined = like the others again. */
  answerFlow(flowId: string, behaviour: Behaviour | undefined): void {
    if (behaviour) this.perFlow.set(flowId, behaviour);
    else this.perFlow.delete(flowId);
  }

  /** The calls of one flow. */
  callsOf(flowId: string): RecordedRequest[] {
    return this.requests.filter((r) => r.flowId === flowId);
  }

  reset(): void {
    this.requests.length = 0;
    this.perFlow.clear();
    this.behaviour = { kind: 'answer', status: 200, body: undefined };
  }

  async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = rawBody === '' ? undefined : JSON.parse(rawBody);
      } catch {
        body = rawBody;
      }
      const flowMatch = /\/flows\/([^/]+)\/execute/.exec(req.url ?? '');
      const flowId = flowMatch ? decodeURIComponent(flowMatch[1]) : '';
      const recorded: RecordedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        rawBody,
        body,
        flowId,
        receivedAt: Date.now(),
      };
      this.requests.push(recorded);
      res.once('finish', () => (recorded.answeredAt = Date.now()));
      const behaviour = this.perFlow.get(flowId) ?? this.behaviour;
      if (behaviour.kind === 'hang') {
        this.hanging.add(res);
        return;
      }
      if (behaviour.kind === 'trickle') {
        this.hanging.add(res);
        res.writeHead(200, { 'content-type': 'application/json' });
        const timer = setInterval(() => res.write(' '), behaviour.everyMs);
        res.on('close', () => clearInterval(timer));
        return;
      }
      if (behaviour.kind === 'held') {
        this.hanging.add(res);
        this.held.push(() => {
          this.hanging.delete(res);
          this.sessions += 1;
          recorded.status = 200;
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify({
              sessionId: `session-${this.sessions}`,
              result: 'Execution completed',
            }),
          );
        });
        return;
      }
      if (behaviour.kind === 'slow') {
        this.sessions += 1;
        const sessionId = `session-${this.sessions}`;
        setTimeout(() => {
          recorded.status = 200;
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ sessionId, result: 'Execution completed' }));
        }, behaviour.ms);
        return;
      }
      recorded.status = behaviour.status;
      if (behaviour.kind === 'raw') {
        res.writeHead(behaviour.status, { 'content-type': 'text/plain' }).end(behaviour.text);
        return;
      }
      this.sessions += 1;
      const payload =
        behaviour.body ??
        (behaviour.status === 200
          ? { sessionId: `session-${this.sessions}`, result: 'Execution completed' }
          : { error: `failed with ${behaviour.status}` });
      res
        .writeHead(behaviour.status, { 'content-type': 'application/json', ...behaviour.headers })
        .end(JSON.stringify(payload));
    });
  }
}

/** A loopback URL whose port was just released: connecting to it is refused. */
export async function refusingUrl(): Promise<string> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
