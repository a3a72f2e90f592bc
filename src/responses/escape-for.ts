const XML_ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

/** XML 1.0 forbids these characters even as references: dropped rather than sent broken. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what it matches
const XML_FORBIDDEN = /[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/g;

export function escapeXml(text: string): string {
  return text.replace(XML_FORBIDDEN, '').replace(/[&<>"']/g, (char) => XML_ENTITIES[char] ?? char);
}

/** The inside of a JSON string literal: quotes, backslashes and control characters escaped. */
function escapeJsonString(text: string): string {
  return JSON.stringify(text).slice(1, -1);
}

/**
 * How a value is escaped when it lands in a text body of this content type: XML (text/xml,
 * application/xml, *+xml) and HTML entity-escaped, JSON (application/json, *+json) as the inside
 * of a JSON string, anything else (text/plain) as it is. Only template values are escaped: the
 * literal text around them is the mapping author's.
 */
export function escapeFor(contentType: string): (value: string) => string {
  const mediaType = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  if (/^(text|application)\/(xml|html|xhtml\+xml)$/.test(mediaType) || mediaType.endsWith('+xml')) {
    return escapeXml;
  }
  if (mediaType === 'application/json' || mediaType.endsWith('+json')) return escapeJsonString;
  return (value) => value;
}
