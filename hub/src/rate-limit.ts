/**
 * In-memory token buckets, one per key (an API token): `burst` calls at once, refilled at `perSecond`. Per hub
 * process, which is what expensive calls (server-side prediction) need to protect: the CPU of this process.
 */
import { tooManyRequests } from './errors';

export interface BucketOptions {
  burst: number;
  perSecond: number;
  /** Named in the refusal, e.g. "registry.predict". */
  what: string;
}

/** Buckets kept before full ones are forgotten (a full bucket is the same as no bucket). */
const MAX_BUCKETS = 10_000;

export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly options: BucketOptions) {}

  /** Takes one call from `key`'s bucket, or throws TOO_MANY_REQUESTS saying when the next call will be accepted. */
  take(key: string, now: Date): void {
    const { burst, perSecond, what } = this.options;
    const t = now.getTime();
    const bucket = this.buckets.get(key) ?? { tokens: burst, at: t };
    bucket.tokens = Math.min(burst, bucket.tokens + (Math.max(0, t - bucket.at) / 1000) * perSecond);
    bucket.at = t;
    if (bucket.tokens < 1) {
      this.buckets.set(key, bucket);
      const retryAfterSeconds = Math.ceil(((1 - bucket.tokens) / perSecond) * 10) / 10;
      throw tooManyRequests(`${what}: at most ${burst} calls at once and ${perSecond} per second per token; retry in ${retryAfterSeconds} s`, retryAfterSeconds);
    }
    bucket.tokens -= 1;
    this.buckets.set(key, bucket);
    if (this.buckets.size > MAX_BUCKETS) this.forgetFull(t);
  }

  private forgetFull(t: number): void {
    const { burst, perSecond } = this.options;
    for (const [key, bucket] of this.buckets) {
      if (bucket.tokens + ((t - bucket.at) / 1000) * perSecond >= burst) this.buckets.delete(key);
    }
  }
}
