import fs from 'node:fs';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const generator = require('../../scripts/generate-mapping-validator.js') as {
  generate(): string;
  OUT: string;
};

describe('the generated mapping validator', () => {
  it('is what the schemas give now (else: npm run generate:validator)', () => {
    expect(fs.readFileSync(generator.OUT, 'utf8') === generator.generate()).toBe(true);
  });
});
