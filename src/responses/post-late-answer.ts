import type { AxiosStatic } from 'axios';
import type { RenderedAnswer } from './types';

export interface LateAnswerPostOptions {
  /** Tries in all (the first included). */
  readonly attempts?: number;
  /** Wait before the second try; doubled for each one after it. */
  readonly firstDelayMs?: number;
  readonly timeoutMs?: number;
}

export interface LateAnswerPosted {
  readonly sent: boolean;
  readonly attempts: number;
  /** The receiver's last status, when it answered. */
  readonly httpStatus?: number;
  /** Why it was not sent (flowhook's words: never the receiver's body). */
  readonly reason?: string;
}

/**
 * POSTs a rendered answer to a late-answer URL (Slack's response_url), retrying what may pass
 * (network, timeout, 429, 5xx) a few times; a 4xx is final (Slack answers 404 for an expired URL).
 * Redirects are not followed: the allow-list was checked for this URL, not for wherever it points.
 */
export async function postLateAnswer(
  url: URL,
  answer: RenderedAnswer,
  options: LateAnswerPostOptions = {},
): Promise<LateAnswerPosted> {
  // axios (~4 MB of memory) is loaded at the first late answer, not at start: most processes
  // never send one.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const axios = require('axios') as AxiosStatic;
  const attempts = options.attempts ?? 3;
  let delay = options.firstDelayMs ?? 1000;
  let last: LateAnswerPosted = { sent: false, attempts: 0 };
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (attempt > 1) {
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay *= 2;
    }
    try {
      const response = await axios.post(url.href, answer.body, {
        headers: { 'Content-Type': answer.contentType },
        timeout: options.timeoutMs ?? 5000,
        maxRedirects: 0,
        // The receiver's answer is read only for its status; a large one is not read at all.
        maxContentLength: 64 * 1024,
        responseType: 'text',
        validateStatus: () => true,
        // The response_url is a capability: no proxy from the environment sees it.
        proxy: false,
      });
      const status = response.status;
      if (status >= 200 && status < 300)
        return { sent: true, attempts: attempt, httpStatus: status };
      last = {
        sent: false,
        attempts: attempt,
        httpStatus: status,
        reason: `the receiver answered ${status}`,
      };
      if (status !== 429 && status < 500) return last;
    } catch (error) {
      const code = error instanceof axios.AxiosError ? error.code : undefined;
      last = {
        sent: false,
        attempts: attempt,
        reason: `the receiver could not be reached (${code ?? 'network error'})`,
      };
    }
  }
  return last;
}
