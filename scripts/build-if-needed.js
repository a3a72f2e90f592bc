'use strict';
// `npm start` on a fresh clone: compile once, and again only when a source is newer than dist/.
// The TypeScript service (tsc → dist/src) and the console (vite → dist/console) are checked
// separately; `--console` checks only the console (the browser tests need nothing else).
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

function newestMtime(dir, pattern) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory() && entry.name === 'results') continue; // bench output, not source
    if (!entry.isDirectory() && !pattern.test(entry.name)) continue;
    const time = entry.isDirectory() ? newestMtime(full, pattern) : fs.statSync(full).mtimeMs;
    if (time > newest) newest = time;
  }
  return newest;
}

function newestOf(dirs, pattern) {
  const existing = dirs.map((d) => path.join(root, d)).filter(fs.existsSync);
  return Math.max(
    ...existing.map((d) => newestMtime(d, pattern)),
    fs.statSync(path.join(root, 'package.json')).mtimeMs,
  );
}

function builtAt(marker) {
  return fs.existsSync(marker) ? fs.statSync(marker).mtimeMs : 0;
}

function run(what, args, marker) {
  console.error(`flowhook: ${what} (first start or sources changed)…`);
  execFileSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  fs.utimesSync(marker, new Date(), new Date());
}

const consoleOnly = process.argv.includes('--console');

const serviceMarker = path.join(root, 'dist', 'src', 'cli', 'main.js');
if (!consoleOnly && builtAt(serviceMarker) < newestOf(['src', 'bench', 'schema'], /\.(ts|json)$/)) {
  run(
    'compiling TypeScript',
    [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
    serviceMarker,
  );
}

const consoleMarker = path.join(root, 'dist', 'console', 'index.html');
if (builtAt(consoleMarker) < newestOf(['console', 'schema'], /\.(ts|tsx|css|html|json|mjs)$/)) {
  run(
    'building the console',
    [
      path.join(root, 'node_modules', 'vite', 'bin', 'vite.js'),
      'build',
      '--config',
      'console/vite.config.mjs',
    ],
    consoleMarker,
  );
}
