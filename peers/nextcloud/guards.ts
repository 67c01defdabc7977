/**
 * Nextcloud's two throttles, as the test peer applies them:
 * - brute-force protection: failed logins are counted per client address; once more than `maxAttempts` (10)
 *   failed within the window (30 minutes), every login from that address is refused with 429 — the right password
 *   too — until the window passes or an admin resets it (`occ security:bruteforce:reset <ip>`: resetLockout here);
 * - rate limits: share creation allows `limit` calls per user per `periodMs` (20 per 10 minutes), then 429.
 */
export class BruteForceGuard {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly maxAttempts = 10,
    private readonly windowMs = 30 * 60 * 1000,
    private readonly now: () => number = Date.now,
  ) {}

  /** true when logins from this address are refused. */
  blocked(address: string): boolean {
    return this.attempts(address) > this.maxAttempts;
  }

  attempts(address: string): number {
    const since = this.now() - this.windowMs;
    const list = (this.failures.get(address) ?? []).filter((t) => t > since);
    this.failures.set(address, list);
    return list.length;
  }

  failed(address: string): void {
    this.attempts(address);
    this.failures.get(address)!.push(this.now());
  }

  /** What `occ security:bruteforce:reset <address>` does (all addresses without one). */
  reset(address?: string): void {
    if (address === undefined) this.failures.clear();
    else this.failures.delete(address);
  }
}

export interface RateLimit {
  limit: number;
  periodMs: number;
}

export class RateLimiter {
  private readonly calls = new Map<string, number[]>();

  constructor(
    private readonly rule: RateLimit | false,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts a call of `key` (user + action) and says whether it is over the limit (then it is not counted). */
  allow(key: string): boolean {
    if (!this.rule) return true;
    const since = this.now() - this.rule.periodMs;
    const list = (this.calls.get(key) ?? []).filter((t) => t > since);
    this.calls.set(key, list);
    if (list.length >= this.rule.limit) return false;
    list.push(this.now());
    return true;
  }

  reset(): void {
    this.calls.clear();
  }
}
