export type MailgunSignature =
  | {
      readonly ok: true;
      readonly timestamp: string;
      readonly token: string;
      /** `signature`, and `parent-signature` (subaccounts: keyed with the primary account's key). */
      readonly signatures: readonly string[];
    }
  | { readonly ok: false; readonly reason: string };

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' && value.length <= 512 ? value : undefined;

function fields(body: Buffer): Record<string, unknown> | undefined {
  const raw = body.toString('utf8');
  if (raw.trimStart().startsWith('{')) {
    try {
      const json: unknown = JSON.parse(raw);
      const block = (json as { signature?: unknown } | null)?.signature;
      return block !== null && typeof block === 'object'
        ? (block as Record<string, unknown>)
        : undefined;
    } catch {
      return undefined;
    }
  }
  // Legacy webhooks and routes post the same three fields as a form.
  return Object.fromEntries(new URLSearchParams(raw));
}

/**
 * The signature block Mailgun puts in the body: `{"signature": {timestamp, token, signature}}` for
 * JSON webhooks, or form fields for legacy ones. Never throws; never echoes a value.
 */
export function readMailgunSignature(body: Buffer): MailgunSignature {
  const block = fields(body);
  if (block === undefined) return { ok: false, reason: 'no signature block in the body' };
  const timestamp =
    typeof block.timestamp === 'number' ? String(block.timestamp) : text(block.timestamp);
  const token = text(block.token);
  const signatures = [block.signature, block['parent-signature']].flatMap((s) => text(s) ?? []);
  if (timestamp === undefined || token === undefined || signatures.length === 0) {
    return {
      ok: false,
      reason: 'the body has no signature.timestamp, signature.token and signature.signature',
    };
  }
  return { ok: true, timestamp, token, signatures };
}
