/**
 * A small least-recently-used cache for the rollup part of report queries. Entries are keyed by
 * the aggregator's progress stamp plus the SQL and its parameters, so an entry can only be
 * reused while the rollup rows it summarises are unchanged: every aggregator run moves the stamp.
 */
export class AnalyticsQueryCache<V> {
  private readonly entries = new Map<string, V>();

  /** @param capacity most entries kept; 0 disables the cache. */
  constructor(private readonly capacity: number) {}

  get(key: string): V | undefined {
    const value = this.entries.get(key);
    if (value === undefined) return undefined;
    // Re-insert to mark as most recently used (a Map iterates in insertion order).
    this.entries.delete(key);
    this.entries.set(key, value);
    return value;
  }

  set(key: string, value: V): void {
    if (this.capacity <= 0) return;
    this.entries.delete(key);
    this.entries.set(key, value);
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
  }
}
