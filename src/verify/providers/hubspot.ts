import { compileHmacOptions } from '../compile-hmac-options';
import type { HmacScheme } from '../hmac-scheme';
import { hmacVerifier } from '../hmac-verifier';
import { hubspotLegacy } from './hubspot-legacy';
import { hubspotUris } from './hubspot-uri';
import { readHeader } from '../read-header';
import type { Verifier, VerifySpec } from '../types';

/** The v3 scheme, with the URI variants HubSpot's instructions allow (sign-request.ts signs with it). */
export function hubspotScheme(spec: VerifySpec): HmacScheme {
  const scheme = compileHmacOptions('hubspot', {
    header: 'X-HubSpot-Signature-v3',
    encoding: 'base64',
    signedContent: '{method}{url}{body}{timestamp}',
    timestampHeader: 'X-HubSpot-Request-Timestamp',
    timestampUnit: 'ms',
    tolerance: spec.tolerance ?? 300,
    publicUrl: spec.publicUrl,
  });
  return { ...scheme, urls: (received) => scheme.urls(received).flatMap(hubspotUris) };
}

/**
 * HubSpot v3: `X-HubSpot-Signature-v3: <base64 HMAC-SHA256>` of method + URI + raw body +
 * timestamp, keyed with the app's client secret; `X-HubSpot-Request-Timestamp` in milliseconds,
 * refused more than 5 minutes away. The URI is the full URL HubSpot called (`publicUrl` behind a
 * proxy). HubSpot batches events in one request, so there is no single delivery id.
 * With `legacy: true`, v1/v2 signatures are accepted when no v3 header is sent.
 * https://developers.hubspot.com/docs/apps/legacy-apps/authentication/validating-requests
 * https://github.com/HubSpot/hubspot-api-nodejs/blob/395cd9bf3bb21252aefc517e11ea64b7db03bd9d/src/utils/signature.ts
 */
export function hubspot(spec: VerifySpec): Verifier {
  const scheme = hubspotScheme(spec);
  const v3 = hmacVerifier(scheme, spec.secrets);
  if (spec.legacy !== true) return v3;
  const legacy = hubspotLegacy(spec.secrets, scheme.urls);
  return (req) =>
    readHeader(req.headers, 'X-HubSpot-Signature-v3') !== undefined ? v3(req) : legacy(req);
}
