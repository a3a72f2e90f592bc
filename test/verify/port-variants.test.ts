import { portVariants } from '../../src/verify/providers/port-variants';

describe('portVariants()', () => {
  it.each<[string, string[]]>([
    [
      'https://mycompany.com/myapp.php?foo=1&bar=2',
      [
        'https://mycompany.com/myapp.php?foo=1&bar=2',
        'https://mycompany.com:443/myapp.php?foo=1&bar=2',
      ],
    ],
    [
      'https://mycompany.com:443/myapp.php?foo=1',
      ['https://mycompany.com:443/myapp.php?foo=1', 'https://mycompany.com/myapp.php?foo=1'],
    ],
    ['http://mycompany.com/x', ['http://mycompany.com/x', 'http://mycompany.com:80/x']],
    ['http://mycompany.com:1234/x', ['http://mycompany.com:1234/x', 'http://mycompany.com/x']],
    [
      'https://user:pass@mycompany.com/x',
      ['https://user:pass@mycompany.com/x', 'https://user:pass@mycompany.com:443/x'],
    ],
    ['https://[::1]:8443/x', ['https://[::1]:8443/x', 'https://[::1]/x']],
    ['https://[::1]/x', ['https://[::1]/x', 'https://[::1]:443/x']],
    [
      'https://a.example/p%2Fq?x=%41',
      ['https://a.example/p%2Fq?x=%41', 'https://a.example:443/p%2Fq?x=%41'],
    ],
    ['not a url', ['not a url']],
  ])('portVariants(%s) → the URL as received, with and without a port', (url, want) => {
    expect(portVariants(url)).toEqual(want);
  });
});
