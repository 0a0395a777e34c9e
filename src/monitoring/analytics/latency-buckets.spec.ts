import {
  LATENCY_BUCKET_COUNT,
  LATENCY_BUCKETS_MS,
  latencyBucketIndex,
  quantileFromLatencyBuckets,
  sumLatencyBuckets,
} from './latency-buckets';

describe('latency buckets', () => {
  it('are the contract bounds plus +Inf', () => {
    expect(LATENCY_BUCKETS_MS).toEqual([
      50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 120000, 300000,
    ]);
    expect(LATENCY_BUCKET_COUNT).toBe(13);
  });

  it('put a value in the first bucket whose inclusive upper bound it does not exceed', () => {
    expect(latencyBucketIndex(0)).toBe(0);
    expect(latencyBucketIndex(50)).toBe(0);
    expect(latencyBucketIndex(51)).toBe(1);
    expect(latencyBucketIndex(300000)).toBe(11);
    expect(latencyBucketIndex(300001)).toBe(12);
  });

  it('add arrays element by element, reading bigint strings', () => {
    expect(sumLatencyBuckets([['1', '2'], null, [3n, 0, 4]])).toEqual([
      4, 2, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ]);
  });

  it('interpolate quantiles inside the bucket that holds them', () => {
    const counts = new Array(13).fill(0);
    counts[0] = 50; // (0, 50]
    counts[1] = 50; // (50, 100]
    expect(quantileFromLatencyBuckets(counts, 0.5)).toBe(50);
    expect(quantileFromLatencyBuckets(counts, 0.75)).toBe(75);
    expect(quantileFromLatencyBuckets(counts, 1)).toBe(100);
    expect(quantileFromLatencyBuckets(counts, 0.75, 80)).toBe(75);
    expect(quantileFromLatencyBuckets(counts, 1, 80)).toBe(80);
  });

  it('cap quantiles in the +Inf bucket at the maximum when known', () => {
    const counts = new Array(13).fill(0);
    counts[12] = 10;
    expect(quantileFromLatencyBuckets(counts, 0.99)).toBe(300000);
    expect(quantileFromLatencyBuckets(counts, 0.99, 450000)).toBe(450000);
  });

  it('return null without observations and reject quantiles outside [0, 1]', () => {
    expect(quantileFromLatencyBuckets(new Array(13).fill('0'), 0.5)).toBeNull();
    expect(() => quantileFromLatencyBuckets([1], 1.5)).toThrow(RangeError);
  });
});
