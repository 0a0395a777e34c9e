import {
  MAX_REDACTION_DEPTH,
  REDACTED,
  redactSecrets,
  SecretKeyMatcher,
  TOO_DEEP,
} from '../../src/monitoring/logging/secret-redaction';

describe('redactSecrets', () => {
  const matcher = new SecretKeyMatcher(['ssn']);

  it('replaces secret-keyed values at any depth and leaves everything else as it is', () => {
    const input = {
      headers: {
        Authorization: 'Bearer x',
        Cookie: 'a=b',
        'Set-Cookie': ['c=d'],
        'X-API-Key': 'k',
        host: 'h',
      },
      user: {
        password: 'p',
        api_key: 'k',
        dbPassword: 'p2',
        githubToken: 't',
        ssn: '123',
        name: 'ada',
      },
      list: [{ client_secret: 's' }, 'plain', 3],
      prompt_tokens: 10,
      completion_tokens: 20,
      tokenizer: 'cl100k',
    };
    expect(redactSecrets(input, matcher)).toEqual({
      headers: {
        Authorization: REDACTED,
        Cookie: REDACTED,
        'Set-Cookie': REDACTED,
        'X-API-Key': REDACTED,
        host: 'h',
      },
      user: {
        password: REDACTED,
        api_key: REDACTED,
        dbPassword: REDACTED,
        githubToken: REDACTED,
        ssn: REDACTED,
        name: 'ada',
      },
      list: [{ client_secret: REDACTED }, 'plain', 3],
      prompt_tokens: 10,
      completion_tokens: 20,
      tokenizer: 'cl100k',
    });
  });

  it('never mutates the caller object, and returns it as is when there is nothing to redact', () => {
    const clean = { a: { b: [1, { c: 'd' }] } };
    expect(redactSecrets(clean, matcher)).toBe(clean);
    const dirty = { keep: { x: 1 }, nested: { token: 't' } };
    const out = redactSecrets(dirty, matcher) as typeof dirty;
    expect(dirty.nested.token).toBe('t');
    expect(out.keep).toBe(dirty.keep); // untouched branches are shared, not copied
    expect(out.nested).not.toBe(dirty.nested);
  });

  it('walks class instances and errors (an HTTP client error with its request config)', () => {
    class LoginDto {
      constructor(
        readonly email: string,
        readonly password: string,
      ) {}
    }
    expect(redactSecrets({ body: new LoginDto('a@b.c', 'pw') }, matcher)).toEqual({
      body: { email: 'a@b.c', password: REDACTED },
    });
    const error = Object.assign(new Error('Request failed with status code 401'), {
      config: { headers: { Authorization: 'Bearer live' }, url: '/x' },
    });
    const out = redactSecrets(error, matcher) as Error & {
      config: { headers: Record<string, string> };
    };
    expect(out).toBeInstanceOf(Error);
    expect(out.message).toBe('Request failed with status code 401');
    expect(out.stack).toBe(error.stack);
    expect(out.config.headers.Authorization).toBe(REDACTED);
    expect(error.config.headers.Authorization).toBe('Bearer live');
  });

  it('leaves values JSON renders itself, and skips keys handled by serializers', () => {
    const date = new Date(0);
    const input = {
      when: date,
      buf: Buffer.from('x'),
      map: new Map([['token', 't']]),
      err: { token: 'kept for the serializer' },
    };
    const out = redactSecrets(input, matcher, new Set(['err'])) as typeof input;
    expect(out).toBe(input);
  });

  it(`cuts objects nested deeper than ${MAX_REDACTION_DEPTH} levels, where a secret could hide`, () => {
    let deep: Record<string, unknown> = { password: 'p' };
    for (let i = 0; i < MAX_REDACTION_DEPTH; i++) deep = { next: deep };
    let node = redactSecrets(deep, matcher) as Record<string, unknown>;
    let depth = 0;
    while (typeof node.next === 'object') {
      node = node.next as Record<string, unknown>;
      depth++;
    }
    expect(depth).toBe(MAX_REDACTION_DEPTH - 1);
    expect(node.next).toBe(TOO_DEEP);
    // A cycle ends at the same limit instead of looping.
    const cyclic: Record<string, unknown> = { name: 'c' };
    cyclic.self = cyclic;
    expect(() => redactSecrets({ cyclic, token: 't' }, matcher)).not.toThrow();
  });

  it('keeps empty secrets empty, so that their absence stays visible', () => {
    expect(redactSecrets({ password: '', token: null }, matcher)).toEqual({
      password: '',
      token: null,
    });
  });
});
