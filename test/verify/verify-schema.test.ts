import Ajv from 'ajv';
import schema from '../../schema/verify.schema.json';
import { PRESET_OPTIONS } from '../../src/verify/preset-options';
import { PROVIDERS } from '../../src/verify/provider-names';

type Property = { description?: string; examples?: unknown[]; enum?: unknown[] };
const properties = schema.properties as Record<string, Property>;
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);

describe('schema/verify.schema.json', () => {
  it('the provider enum → exactly PROVIDERS', () => {
    expect(properties.provider?.enum).toEqual([...PROVIDERS]);
  });

  it('its keys → provider, secret, secrets and every option a preset declares', () => {
    const declared = new Set(Object.values(PRESET_OPTIONS).flat());
    expect(Object.keys(properties).sort()).toEqual(
      ['provider', 'secret', 'secrets', ...declared].sort(),
    );
  });

  it.each(Object.keys(properties))(
    'the key %s → has a description and examples for editors',
    (key) => {
      expect(properties[key]?.description?.length).toBeGreaterThan(20);
      expect(properties[key]?.examples?.length).toBeGreaterThan(0);
    },
  );

  it.each<[string, unknown, boolean]>([
    [
      'a twilio block with publicUrl',
      { provider: 'twilio', secret: 'x', publicUrl: 'https://a.example/hooks/t' },
      true,
    ],
    [
      'a publicUrl with a query',
      { provider: 'twilio', secret: 'x', publicUrl: 'https://a.example/h?x=1' },
      false,
    ],
    [
      'a linear-like hmac block',
      {
        provider: 'hmac',
        secret: 'x',
        header: 'S',
        timestampPath: '$.webhookTimestamp',
        timestampUnit: 'ms',
      },
      true,
    ],
    ['an unknown key', { provider: 'github', secret: 'x', tolerence: 3 }, false],
    [
      'a basic block with a ":" in username',
      { provider: 'basic', secret: 'x', username: 'a:b' },
      false,
    ],
  ])('validating %s → %s', (_situation, block, want) => {
    expect(validate(block)).toBe(want);
  });
});
