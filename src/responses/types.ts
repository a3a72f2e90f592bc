/**
 * What a mapping's `respond:` block is made of (docs/responses.md). An outcome is what happened to
 * a verified delivery; the sender's answer for it can be templated. Refusals before verification
 * (401, 404, 413, 415, 429) are not outcomes: an unverified sender always gets flowhook's own.
 */
export type Outcome = 'ok' | 'ignored' | 'failed' | 'refused' | 'running' | 'queued';

export const OUTCOMES: readonly Outcome[] = [
  'ok',
  'ignored',
  'failed',
  'refused',
  'running',
  'queued',
];

/** One outcome's answer as written. */
export interface OutcomeDef {
  /** Default: the status flowhook answers for that outcome today. */
  readonly status?: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** A mapping or list is sent as JSON; a string as text with the Content-Type header given. */
  readonly body?: unknown;
}

export type PresetName = 'slack' | 'twiml';

/** `respond:` as written: a preset alone, or outcomes (optionally over a preset). */
export type RespondDef =
  | PresetName
  | ({ readonly preset?: PresetName; readonly message?: string } & Partial<
      Record<Outcome, OutcomeDef>
    >);

/** The values a response template can read; what an outcome does not know is undefined. */
export interface AnswerContext {
  readonly deliveryId: string;
  /** The parsed request body (JSONPath placeholders read it). */
  readonly body: unknown;
  readonly sessionId?: string;
  readonly result?: string;
  readonly route?: string;
  readonly flow?: string;
  /** The variables sent to the flow (the first route's that has the name, in a fan-out). */
  readonly vars?: Readonly<Record<string, unknown>>;
  /** flowhook's own message for the failure (never text from the flow platform). */
  readonly error?: string;
}

/** An answer ready to send, and to store so an idempotent repeat gets exactly the same. */
export interface RenderedAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface CompiledRespond {
  /** The outcomes with a template; the others keep flowhook's own answers. */
  readonly outcomes: ReadonlySet<Outcome>;
  /**
   * Renders an outcome's answer; undefined when it has no template. `status` is flowhook's own
   * status for it, used when the template gives none.
   */
  render(outcome: Outcome, context: AnswerContext, status: number): RenderedAnswer | undefined;
  /**
   * Slack: past replyWithin the sender is told `running`, and the final outcome's body is POSTed
   * to the request's response_url when the delivery ends.
   */
  readonly lateAnswers: boolean;
}
