import { hmacPreset } from '../hmac-preset';

/**
 * Tally (tally.so forms, not "Tally for Agents"): `Tally-Signature: <base64 HMAC-SHA256>` of the
 * body. Tally's own example signs `JSON.stringify(req.body)`, which only works because Tally sends
 * compact JSON; we verify the raw bytes. No timestamp; the delivery id is the body's `eventId`.
 * https://tally.so/help/webhooks
 */
export const tally = hmacPreset('tally', { header: 'Tally-Signature', encoding: 'base64' });
