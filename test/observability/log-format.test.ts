import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildOnce, startFlowhook } from '../support/flowhook-process';
import { mappingsDir } from '../support/harness';

// LOG_FORMAT=pretty (issue 12): `flowhook serve` prints its lines for a terminal (pino-pretty).
describe('LOG_FORMAT', () => {
  beforeAll(() => buildOnce(), 180_000);

  it('pretty: human-readable lines, not JSON, with the same messages', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowhook-pretty-'));
    const mappings = mappingsDir({});
    const flowhook = await startFlowhook({
      LOG_FORMAT: 'pretty',
      MAPPINGS_DIR: mappings,
      MAPPINGS_WATCH: 'off',
      DATA_DIR: dataDir,
    });
    try {
      const lines = flowhook.output().split('\n').filter(Boolean);
      expect(lines.some((line) => line.includes('INFO') && line.includes('listening on'))).toBe(
        true,
      );
      expect(lines.filter((line) => line.startsWith('{"level"'))).toEqual([]);
    } finally {
      await flowhook.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
      fs.rmSync(mappings, { recursive: true, force: true });
    }
  });
});
