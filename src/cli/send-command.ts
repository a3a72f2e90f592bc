import type { CliIo } from './cli-io';
import { signDelivery, type SignOptions } from './sign-command';

export type SendOptions = Omit<SignOptions, 'json'>;

/**
 * `flowhook send <source> <payload-file>`: signs the payload as `flowhook sign` does and POSTs the
 * exact bytes to a running flowhook (`<url>/hooks/<source>`), then prints the status and the
 * answer. Exit 0 on a 2xx answer, 1 on any other answer or when nothing answered (or the payload
 * cannot be signed), 2 for a usage problem.
 */
export async function sendCommand(
  sourceName: string,
  payloadFile: string,
  options: SendOptions,
  io: CliIo,
): Promise<number> {
  const delivery = signDelivery('send', sourceName, payloadFile, options, io, Date.now());
  if (typeof delivery === 'number') return delivery;
  const target = new URL(delivery.url);
  // The query is left out: with `provider: token` and `query:`, it holds the token.
  const shown = `${target.origin}${target.pathname}`;
  let response: Response;
  try {
    response = await fetch(delivery.url, {
      method: 'POST',
      headers: delivery.headers.map(([name, value]) => [name, value]),
      body: delivery.rawBody,
      redirect: 'manual',
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (error as Error).message;
    io.err(
      `flowhook send: no answer from ${target.origin} (${why}); is flowhook running there? (--url, or PORT)\n`,
    );
    return 1;
  }
  const text = await response.text();
  io.out(`POST ${shown} → ${response.status} ${response.statusText}\n`);
  if (text !== '') io.out(`${pretty(text)}\n`);
  return response.ok ? 0 : 1;
}

function pretty(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
