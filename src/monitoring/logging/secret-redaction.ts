/**
 * Replaces the values of secret-looking keys in objects about to be logged. pino's own `redact`
 * needs a path per position (`req.headers.authorization`, `*.password`, `*.*.password`…) and cannot
 * express "anywhere", so this walks the object instead: only objects handed to the logger by
 * application code are walked (event lines are built from known fields), the walk is bounded in
 * depth, and it copies only the branches that hold a secret, so the caller's objects are never
 * mutated and a clean object costs one key lookup per key.
 */

/** The value written in place of a secret. */
export const REDACTED = '[REDACTED]';

/** Written in place of objects nested deeper than the walk goes (a secret there could not be seen). */
export const TOO_DEEP = '[Too deep]';

/** Deepest object nesting that is walked (and logged). */
export const MAX_REDACTION_DEPTH = 8;

/**
 * Key names (lower case, without `-` and `_`) that are always secret. Headers included:
 * authorization, cookie, set-cookie, x-api-key.
 */
const SECRET_KEYS = [
  'authorization',
  'proxyauthorization',
  'cookie',
  'setcookie',
  'xapikey',
  'apikey',
  'password',
  'passwd',
  'passphrase',
  'secret',
  'token',
  'accesstoken',
  'refreshtoken',
  'idtoken',
  'sessiontoken',
  'bearertoken',
  'clientsecret',
  'privatekey',
  'accesskey',
  'secretkey',
  'credentials',
  'connectionstring',
];

/** Endings that make a key secret too (`dbPassword`, `githubToken`, `stripe_secret`, `openaiApiKey`). */
const SECRET_SUFFIXES = [
  'password',
  'passwd',
  'secret',
  'token',
  'apikey',
  'privatekey',
  'accesskey',
];

/** Decides whether an object key names a secret. Results are memoised per key. */
export class SecretKeyMatcher {
  private readonly exact: Set<string>;
  private readonly cache = new Map<string, boolean>();

  constructor(extraKeys: readonly string[] = []) {
    this.exact = new Set([...SECRET_KEYS, ...extraKeys.map(normalise)]);
  }

  isSecret(key: string): boolean {
    let secret = this.cache.get(key);
    if (secret === undefined) {
      const k = normalise(key);
      secret = this.exact.has(k) || SECRET_SUFFIXES.some((s) => k.endsWith(s));
      // Keys come from code, not data, so the cache stays small; cap it anyway.
      if (this.cache.size < 10_000) this.cache.set(key, secret);
    }
    return secret;
  }
}

function normalise(key: string): string {
  return key.toLowerCase().replace(/[-_\s]/g, '');
}

/**
 * Objects that are walked: plain objects, arrays and class instances (DTOs, errors with extra
 * fields such as an HTTP client's request config). Skipped: values JSON renders themselves
 * (Date, Buffer), collections, and streams / sockets / requests, which are large and cyclic.
 */
function isWalkable(value: object): boolean {
  if (Array.isArray(value)) return true;
  const proto = Object.getPrototypeOf(value) as object | null;
  if (proto === Object.prototype || proto === null) return true;
  const v = value as Record<string, unknown>;
  if (typeof v.toJSON === 'function') return false;
  if (typeof v.on === 'function' && typeof v.emit === 'function') return false;
  if (
    value instanceof Map ||
    value instanceof Set ||
    value instanceof WeakMap ||
    value instanceof WeakSet
  )
    return false;
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof Promise)
    return false;
  return true;
}

/**
 * Returns `value` with every secret-keyed value replaced by `[REDACTED]`, at any depth up to
 * `MAX_REDACTION_DEPTH` (deeper objects are replaced by `[Too deep]`). Returns the same reference
 * when nothing had to change. `skipTopLevel` names top-level keys left untouched (keys that have
 * a pino serializer, which redacts its own output).
 */
export function redactSecrets(
  value: unknown,
  matcher: SecretKeyMatcher,
  skipTopLevel?: ReadonlySet<string>,
): unknown {
  return walk(value, matcher, 0, skipTopLevel);
}

function walk(
  value: unknown,
  matcher: SecretKeyMatcher,
  depth: number,
  skip?: ReadonlySet<string>,
): unknown {
  if (value === null || typeof value !== 'object' || !isWalkable(value)) return value;
  if (depth >= MAX_REDACTION_DEPTH) return TOO_DEEP;

  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const next = walk(item, matcher, depth + 1);
      if (next !== item) {
        copy ??= value.slice();
        copy[i] = next;
      }
    }
    return copy ?? value;
  }

  const source = value as Record<string, unknown>;
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(source)) {
    if (skip?.has(key)) continue;
    const item = source[key];
    let next: unknown;
    if (matcher.isSecret(key)) {
      next = item === undefined || item === null || item === '' ? item : REDACTED;
    } else {
      next = walk(item, matcher, depth + 1);
    }
    if (next !== item) {
      copy ??= copyOf(value);
      copy[key] = next;
    }
  }
  return copy ?? value;
}

/** A writable copy of an object's own enumerable properties; errors keep their message and stack. */
function copyOf(value: object): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  if (value instanceof Error) {
    // Error serializers only recognise real errors: keep the prototype and the non-enumerable fields.
    const error = Object.create(Object.getPrototypeOf(value) as object) as Record<string, unknown>;
    Object.assign(error, copy);
    error.message = value.message;
    error.stack = value.stack;
    if (value.cause !== undefined) error.cause = value.cause;
    return error;
  }
  return copy;
}
