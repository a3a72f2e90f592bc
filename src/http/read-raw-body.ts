import type { IncomingMessage } from 'node:http';
import { FlowhookError } from '../errors';

const EMPTY = Buffer.alloc(0);

/**
 * A hook request's body as the bytes received, at most `limit` of them. Every content type is
 * read as raw bytes: the signature is over exactly what was sent, and the body is parsed only
 * after it is verified. It answers as `express.raw({ inflate: false })` did, with one reader and
 * no per-request parsing of the content type (issue 15):
 * - no `Content-Length` and no `Transfer-Encoding`: no body, an empty buffer;
 * - a `Content-Encoding` other than identity: 415 `unsupported_media_type` — a compressed body
 *   would be verified over bytes the sender never signed, and the limit would bound the wrong size;
 * - an announced or received size over the limit: 413 `body_too_large`;
 * - a body cut off (the connection closed before its end): 400 `invalid_body`.
 * A refused body is read to its end before the answer (as Node does with an unread body), so
 * the connection stays usable and the sender reads the answer instead of a reset; nothing of it
 * is kept.
 */
export function readRawBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const announced = req.headers['content-length'];
  if (announced === undefined && req.headers['transfer-encoding'] === undefined) {
    return Promise.resolve(EMPTY);
  }
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
    return discardThen(
      req,
      new FlowhookError(
        'unsupported_media_type',
        'compressed bodies are not accepted: the signature covers the bytes as sent uncompressed',
      ),
    );
  }
  if (announced !== undefined && Number(announced) > limit) return discardThen(req, tooLarge());
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received <= limit) {
        chunks.push(chunk);
        return;
      }
      stop();
      chunks.length = 0;
      discardThen(req, tooLarge()).catch(reject);
    };
    const onEnd = () => {
      stop();
      resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, received));
    };
    // 'close' before 'end': the sender's connection went away mid-body.
    const onCutOff = () => {
      stop();
      reject(cutOff());
    };
    const stop = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onCutOff);
      req.off('close', onCutOff);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onCutOff);
    req.on('close', onCutOff);
  });
}

function tooLarge(): FlowhookError {
  return new FlowhookError('body_too_large', 'the body is larger than the limit');
}

function cutOff(): FlowhookError {
  return new FlowhookError('invalid_body', 'the body ended before its announced length');
}

/** Reads the rest of the body without keeping it, then fails with `error`. */
function discardThen(req: IncomingMessage, error: FlowhookError): Promise<never> {
  return new Promise<never>((_resolve, reject) => {
    if (req.readableEnded || req.destroyed) {
      reject(error);
      return;
    }
    const done = () => {
      req.off('end', done);
      req.off('error', done);
      req.off('close', done);
      reject(error);
    };
    req.on('end', done);
    req.on('error', done);
    req.on('close', done);
    req.resume();
  });
}
