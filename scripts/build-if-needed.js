'use strict';
// `npm start` on a fresh clone: compile once, and again only when a source is newer than dist/.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const marker = path.join(root, 'dist', 'src', 'cli', 'main.js');

function newestMtime(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory() && entry.name === 'results') continue; // bench output, not source
    if (!entry.isDirectory() && !/\.(ts|json)$/.test(entry.name)) continue;
    const time = entry.isDirectory() ? newestMtime(full) : fs.statSync(full).mtimeMs;
    if (time > newest) newest = time;
  }
  return newest;
}

const sources = ['src', 'bench', 'schema'].map((d) => path.join(root, d)).filter(fs.existsSync);
const inputs = Math.max(
  ...sources.map(newestMtime),
  fs.statSync(path.join(root, 'package.json')).mtimeMs,
);
const built = fs.existsSync(marker) ? fs.statSync(marker).mtimeMs : 0;
if (built < inputs) {
  console.error('flowhook: compiling TypeScript (first start or sources changed)…');
  execFileSync(
    process.execPath,
    [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
  fs.utimesSync(marker, new Date(), new Date());
}
