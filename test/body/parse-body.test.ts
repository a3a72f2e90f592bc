import { parseBody } from '../../src/body/parse-body';
import { nestsDeeperThan } from '../../src/body/nests-deeper-than';
import { FlowhookError } from '../../src/errors';

const json = (text: string) => parseBody(Buffer.from(text), 'application/json');

describe('parseBody', () => {
  it.each([
    ['{"__proto__":{"x":1}}'],
    ['{"a":{"__proto__":{"x":1}}}'],
    ['{"\\u005f\\u005fproto\\u005f\\u005f":{"x":1}}'],
    ['{"\\u005f_pr\\u006fto__":{"x":1}}'],
    ['{"constructor":{"prototype":{"x":1}}}'],
    ['{"\\u0063onstructor":{"prototype":{"x":1}}}'],
  ])('%s is refused, however it is spelled', (text) => {
    expect(() => json(text)).toThrow(FlowhookError);
    expect(() => json(text)).toThrow(/forbidden __proto__ or constructor.prototype/);
  });

  it.each([
    ['{"proto":"fine","constructor":"a string"}', { proto: 'fine', constructor: 'a string' }],
    ['{"text":"caf\\u00e9"}', { text: 'café' }],
    ['{"a":[1,{"b":null}]}', { a: [1, { b: null }] }],
  ])('%s parses to its value', (text, expected) => {
    expect(JSON.parse(JSON.stringify(json(text)))).toEqual(expected);
  });
});

describe('nestsDeeperThan', () => {
  const deep = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
  it.each([
    [deep(3), 3, false],
    [deep(4), 3, true],
    [`[${'{},'.repeat(200)}{}]`, 3, false], // many openers, shallow: the scan decides
    [`["${'['.repeat(100)}"]`, 3, false], // brackets inside a string do not count
    [`["\\"${'['.repeat(100)}"]`, 3, false], // nor after an escaped quote
    ['[[[[', 3, true],
  ])('case %#', (text, max, expected) => {
    expect(nestsDeeperThan(text, max)).toBe(expected);
  });
});
