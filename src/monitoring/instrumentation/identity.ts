/** A fixed value, or a function computing it from the instance and the call's arguments. */
export type Extractor<T> = T | ((instance: any, args: any[]) => T | undefined);

/** Reads an identity option; falls back to `fallback` when absent or when the extractor returns nothing. */
export function extract<T>(
  option: Extractor<T> | undefined,
  instance: unknown,
  args: unknown[],
  fallback: () => T,
): T {
  if (option === undefined) return fallback();
  if (typeof option === 'function') {
    const value = (option as (i: unknown, a: unknown[]) => T | undefined)(instance, args);
    return value === undefined || value === null ? fallback() : value;
  }
  return option;
}

/** First string (or number) among the named properties of `obj`. */
export function pick(obj: unknown, ...keys: string[]): string | undefined {
  if (obj === null || typeof obj !== 'object') return undefined;
  const record = obj as Record<string, unknown>;
  for (const key of keys) {
    const v = record[key];
    if (typeof v === 'string' && v.length > 0) return v;
    if (typeof v === 'number') return String(v);
  }
  return undefined;
}

/** Class name of an instance, for default identities. */
export function className(instance: unknown): string {
  if (instance !== null && typeof instance === 'object') return instance.constructor?.name ?? 'anonymous';
  if (typeof instance === 'function') return instance.name || 'anonymous';
  return 'anonymous';
}

/** Error class name and message, for events. */
export function describeError(error: unknown): { type: string; message: string; stack?: string } {
  if (error instanceof Error) {
    return { type: error.constructor?.name || error.name || 'Error', message: error.message, stack: error.stack };
  }
  return { type: typeof error, message: String(error) };
}
