import { createHash } from 'node:crypto';
import { calcom } from './providers/calcom';
import { calendly } from './providers/calendly';
import { createVerifier } from './create-verifier';
import { github } from './providers/github';
import { gitlabSigningScheme, isSigningToken } from './providers/gitlab';
import { hmac } from './providers/hmac';
import type { HmacScheme } from './hmac-scheme';
import { hubspotScheme } from './providers/hubspot';
import { intercom } from './providers/intercom';
import { linear } from './providers/linear';
import { paddle } from './providers/paddle';
import type { Provider } from './provider-names';
import { shopify } from './providers/shopify';
import {
  lowerCased,
  SignError,
  signWithScheme,
  type SignedRequest,
  type SignInput,
} from './sign-hmac';
import { slack } from './providers/slack';
import { square } from './providers/square';
import { standardWebhooks } from './providers/standard-webhooks';
import { stripe } from './providers/stripe';
import { svix } from './providers/svix';
import { tally } from './providers/tally';
import { TOKEN_HEADER } from './providers/token';
import { twilio } from './providers/twilio';
import { hasBodyHash } from './providers/twilio-content';
import { typeform } from './providers/typeform';
import type { VerifySpec } from './types';
import { webflow } from './providers/webflow';
import { zendesk } from './providers/zendesk';

export { SignError, type SignedRequest, type SignInput } from './sign-hmac';

type Signer = (spec: VerifySpec, input: SignInput) => SignedRequest;

/** The newest secret: during a rotation it is listed first, and the sender signs with it. */
const newest = (spec: VerifySpec): string => spec.secrets[0] ?? '';

/** An HMAC preset: signed with the very scheme its verifier compiles from the same spec. */
const scheme =
  (
    build: (spec: VerifySpec) => HmacScheme,
    url: (input: SignInput) => string = (i) => i.url,
  ): Signer =>
  (spec, input) =>
    signWithScheme(spec.provider, build(spec), newest(spec), { ...input, url: url(input) });

const withQuery = (url: string, name: string, value: string): string =>
  `${url}${url.includes('?') ? '&' : '?'}${encodeURIComponent(name)}=${encodeURIComponent(value)}`;

/**
 * Twilio signs the URL it calls. A form body is signed as sorted parameters; any other body
 * (JSON) is covered by a `bodySHA256` query parameter that Twilio adds to the URL, which is
 * then signed instead of the body (twilio-content.ts). The returned URL is the one to call.
 */
function twilioUrl(input: SignInput): string {
  if (hasBodyHash(input.url)) return input.url;
  const type = lowerCased(input.headers)['content-type'];
  const form =
    type !== undefined
      ? /^application\/x-www-form-urlencoded\b/i.test(type)
      : !isJson(input.rawBody);
  if (form) return input.url;
  return withQuery(
    input.url,
    'bodySHA256',
    createHash('sha256').update(input.rawBody).digest('hex'),
  );
}

function isJson(body: Buffer): boolean {
  try {
    JSON.parse(body.toString('utf8'));
    return true;
  } catch {
    return false;
  }
}

/**
 * GitLab checks every kind of secret it is given: a signing token (`whsec_…`) as Standard
 * Webhooks headers, a secret token as `X-Gitlab-Token`. The newest of each kind is sent.
 */
const gitlab: Signer = (spec, input) => {
  const signing = spec.secrets.find(isSigningToken);
  const token = spec.secrets.find((secret) => !isSigningToken(secret));
  const signed =
    signing === undefined
      ? { headers: {}, url: input.url }
      : signWithScheme('gitlab', gitlabSigningScheme(spec), signing, input);
  return token === undefined
    ? signed
    : { ...signed, headers: { ...signed.headers, 'X-Gitlab-Token': token } };
};

/** The token itself, in its header (`Bearer` for Authorization) or query parameter: nothing is signed. */
const token: Signer = (spec, input) => {
  const secret = newest(spec);
  if (spec.query !== undefined)
    return { headers: {}, url: withQuery(input.url, spec.query, secret) };
  const header = spec.header ?? TOKEN_HEADER;
  const value = header.toLowerCase() === 'authorization' ? `Bearer ${secret}` : secret;
  return { headers: { [header]: value }, url: input.url };
};

const basic: Signer = (spec, input) => {
  const credentials = Buffer.from(`${spec.username ?? ''}:${newest(spec)}`, 'utf8').toString(
    'base64',
  );
  return { headers: { Authorization: `Basic ${credentials}` }, url: input.url };
};

const cannot =
  (why: string): Signer =>
  () => {
    throw new SignError(why);
  };

/** One entry per preset, so a new provider does not compile until it says how it is signed. */
const SIGNERS: Readonly<Record<Provider, Signer>> = {
  github: scheme(github.scheme),
  stripe: scheme(stripe.scheme),
  'standard-webhooks': scheme(standardWebhooks.scheme),
  svix: scheme(svix.scheme),
  gitlab,
  slack: scheme(slack.scheme),
  shopify: scheme(shopify.scheme),
  twilio: scheme(twilio.scheme, twilioUrl),
  typeform: scheme(typeform.scheme),
  tally: scheme(tally.scheme),
  linear: scheme(linear.scheme),
  paddle: scheme(paddle.scheme),
  square: scheme(square.scheme),
  zendesk: scheme(zendesk.scheme),
  hubspot: scheme(hubspotScheme),
  intercom: scheme(intercom.scheme),
  mailgun: cannot(
    'mailgun: the signature is not a header but part of the body (signature.timestamp, ' +
      'signature.token, signature.signature), so it cannot be added without changing the payload; ' +
      "send a payload Mailgun signed (its dashboard's test webhook), or try the routes with flowhook test",
  ),
  calendly: scheme(calendly.scheme),
  calcom: scheme(calcom.scheme),
  webflow: scheme(webflow.scheme),
  hmac: scheme(hmac.scheme),
  token,
  basic,
  none: (_spec, input) => ({ headers: {}, url: input.url }),
};

/**
 * The headers (and URL) the sender of `spec`'s provider would send for `request`, signed with the
 * newest secret at `request.now`, so the verifier of the same spec accepts it. Throws a
 * VerifySpecError for a spec that cannot make a verifier, and a SignError (saying what to change)
 * for a request the sender's signature cannot be produced for: Mailgun signs inside the body, a
 * Linear body must carry a fresh `webhookTimestamp`, a `{header:Name}` template needs that header.
 * The secret appears only inside what the sender sends (a token, Basic credentials), never in an error.
 */
export function signRequest(spec: VerifySpec, request: SignInput): SignedRequest {
  createVerifier(spec);
  return SIGNERS[spec.provider as Provider](spec, request);
}
