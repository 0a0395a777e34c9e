import { randomBytes } from 'node:crypto';

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
/** `7xxx`: the version nibble and a 12-bit counter, for each counter value. */
const VERSION_AND_COUNTER = Array.from({ length: 4096 }, (_, i) => `7${i.toString(16).padStart(3, '0')}`);
const COUNTER_MAX = 4095;

/** `tttttttt-tttt-`: the 48-bit big-endian Unix-millisecond timestamp of a UUIDv7. */
function timePrefix(ms: number): string {
  const high = Math.floor(ms / 2 ** 16);
  const low = ms % 2 ** 16;
  return `${HEX[(high >>> 24) & 0xff]}${HEX[(high >>> 16) & 0xff]}${HEX[(high >>> 8) & 0xff]}${HEX[high & 0xff]}-${HEX[(low >>> 8) & 0xff]}${HEX[low & 0xff]}-`;
}

/**
 * Time-ordered UUIDs (RFC 9562 version 7) built for a hot path: 48 bits of Unix milliseconds, a
 * 12-bit counter in `rand_a` (RFC 9562 §6.2, method 1: ids made in the same millisecond keep
 * their order), and 62 random bits in `rand_b` drawn once per generator, which keep the ids of
 * different processes apart. An id is the cached millisecond prefix, the counter and the random
 * suffix: two string joins, no random bytes and no formatting per id.
 *
 * Ids never repeat within a generator: when the clock stands still beyond 4,096 ids, or goes back,
 * the generator carries on from the last millisecond it used, as the RFC allows.
 */
export class UuidV7Generator {
  private lastMs = -1;
  private counter = 0;
  private prefix = '';
  private readonly suffix: string;

  constructor(random: Uint8Array = randomBytes(8)) {
    const b = random;
    this.suffix = `-${HEX[(b[0]! & 0x3f) | 0x80]}${HEX[b[1]!]}-${HEX[b[2]!]}${HEX[b[3]!]}${HEX[b[4]!]}${HEX[b[5]!]}${HEX[b[6]!]}${HEX[b[7]!]}`;
  }

  /** The next id, for the given time (default: now). */
  next(now: number = Date.now()): string {
    if (now > this.lastMs) {
      this.lastMs = now;
      this.counter = 0;
      this.prefix = timePrefix(now);
    } else if (this.counter < COUNTER_MAX) {
      this.counter++;
    } else {
      this.lastMs++;
      this.counter = 0;
      this.prefix = timePrefix(this.lastMs);
    }
    return this.prefix + VERSION_AND_COUNTER[this.counter]! + this.suffix;
  }
}

const processIds = new UuidV7Generator();

/**
 * A new time-ordered UUID (version 7) from the process-wide generator. Rows of one flush get
 * neighbouring ids, so the primary-key B-tree grows at its right edge instead of taking random
 * page writes all over a large index (as random v4 ids do).
 */
export function uuidV7(): string {
  return processIds.next();
}
