import fs from 'node:fs';
import path from 'node:path';
import express, { type Request, type Response, type Router } from 'express';
import { FlowhookError } from '../errors';

/**
 * The console page's policy: everything from this origin only, no inline script or style, no
 * eval, no framing, no plugin, forms and <base> locked. CodeMirror's styles are constructed
 * stylesheets (adoptedStyleSheets), which CSP does not count as inline styles.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** dist/console from the sources (ts-jest) and from the compiled dist/src/http alike. */
export function defaultConsoleDir(): string {
  const root = path.resolve(__dirname, '..', '..');
  return path.basename(root) === 'dist'
    ? path.join(root, 'console')
    : path.join(root, 'dist', 'console');
}

/**
 * The console's files under /console: index.html is never cached (it names the current assets),
 * the fingerprinted assets (/console/assets/<name>-<hash>.js) are cached for a year, immutable.
 * Built by `npm run build` (vite); nothing is fetched from another host.
 */
export function consoleRouter(dir: string = defaultConsoleDir()): Router {
  const router = express.Router();
  router.use((_req, res, next) => {
    res.setHeader('Content-Security-Policy', CONSOLE_CSP);
    // Routers before this one mark everything no-store; the console's files set their own.
    res.removeHeader('Cache-Control');
    next();
  });
  router.use(
    '/assets',
    express.static(path.join(dir, 'assets'), {
      immutable: true,
      maxAge: '365d',
      index: false,
      fallthrough: true,
    }),
  );
  const index = (_req: Request, res: Response) => {
    const file = path.join(dir, 'index.html');
    if (!fs.existsSync(file)) {
      throw new FlowhookError(
        'not_found',
        'the console is not built: run npm run build (npm start does it when sources changed)',
      );
    }
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(file);
  };
  router.get('/', index);
  router.get('/index.html', index);
  return router;
}
