import { escapeXml } from './escape-for';
import type { Outcome, OutcomeDef, PresetName } from './types';

/**
 * Slack shows the `text` of a 200 answer to the user who sent the command and an error for any
 * other status (api.slack.com/interactivity/slash-commands#responding_to_commands), so every
 * outcome is a 200 with an ephemeral text (seen by that user only).
 */
const ephemeral = (text: string): OutcomeDef => ({
  status: 200,
  body: { response_type: 'ephemeral', text },
});

const SLACK: Readonly<Record<Outcome, OutcomeDef>> = {
  ok: ephemeral('{{ route }}: {{ result }} (session {{ sessionId }})'),
  ignored: ephemeral('Nothing to do for this request: no route matched.'),
  failed: ephemeral('{{ route }} could not run: {{ error }}'),
  refused: ephemeral('Could not start: {{ error }}'),
  running: ephemeral('Working on it… the result will follow here.'),
  queued: ephemeral('Accepted: it runs shortly, and the result will follow here.'),
};

const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';
const TWIML = { 'Content-Type': 'text/xml; charset=utf-8' };

/**
 * Twilio reads TWiML from a 200 answer (www.twilio.com/docs/messaging/twiml): `<Message>` sends an
 * SMS back, an empty `<Response/>` sends nothing. Any other status is an error on Twilio's side
 * (11200), so every outcome is a 200. `message` (a template) answers `ok` only: it is the reply to
 * a delivery that ran.
 */
function twiml(message: string | undefined): Readonly<Record<Outcome, OutcomeDef>> {
  const empty: OutcomeDef = { status: 200, headers: TWIML, body: `${XML_DECLARATION}<Response/>` };
  return {
    ok:
      message === undefined
        ? empty
        : {
            status: 200,
            headers: TWIML,
            body: `${XML_DECLARATION}<Response><Message>${escapeLiterals(message)}</Message></Response>`,
          },
    ignored: empty,
    failed: empty,
    refused: empty,
    running: empty,
    queued: empty,
  };
}

/** `message` is text: its literal parts are escaped here, its values when rendered. */
function escapeLiterals(template: string): string {
  return template
    .split(/(\{\{.*?\}\})/s)
    .map((part, i) => (i % 2 === 1 ? part : escapeXml(part)))
    .join('');
}

/** Each outcome's answer in a preset (`message`: TwiML's reply text). */
export function respondPreset(
  name: PresetName,
  message: string | undefined,
): Readonly<Record<Outcome, OutcomeDef>> {
  return name === 'slack' ? SLACK : twiml(message);
}
