/**
 * Clean-up that must not be forgotten when it fails once: the DELETE of an aborted chunked upload (its chunks stay
 * on the server otherwise) or of a temporary upload. A failed attempt is tried again later, with growing pauses,
 * and once more when the client closes; timers never keep the process alive.
 */
export interface CleanupTask {
  /** What to delete, for logs ("upload folder …"). */
  what: string;
  /** Deletes it; true when it is gone (deleted now or already). */
  run(): Promise<boolean>;
}

export class CleanupQueue {
  private readonly waiting = new Map<CleanupTask, { attempt: number; timer?: NodeJS.Timeout }>();

  constructor(
    private readonly delaysMs: number[] = [5000, 30000, 120000, 600000, 1800000],
    private readonly onGiveUp?: (task: CleanupTask, attempts: number) => void,
  ) {}

  /** Number of clean-ups still to do. */
  get pending(): number {
    return this.waiting.size;
  }

  /** Runs the task now; when that fails, again later. Resolves when the first attempt is over. */
  async add(task: CleanupTask): Promise<void> {
    this.waiting.set(task, { attempt: 0 });
    await this.attempt(task);
  }

  /** Tries every waiting clean-up now (e.g. before closing). */
  async flush(): Promise<void> {
    await Promise.all([...this.waiting.keys()].map((t) => this.attempt(t)));
  }

  /** Stops the timers (what is still waiting is dropped). */
  close(): void {
    for (const s of this.waiting.values()) clearTimeout(s.timer);
    this.waiting.clear();
  }

  private async attempt(task: CleanupTask): Promise<void> {
    const state = this.waiting.get(task);
    if (!state) return;
    clearTimeout(state.timer);
    state.attempt += 1;
    let done = false;
    try {
      done = await task.run();
    } catch {
      done = false;
    }
    if (!this.waiting.has(task)) return;
    if (done) {
      this.waiting.delete(task);
      return;
    }
    const delay = this.delaysMs[state.attempt - 1];
    if (delay === undefined) {
      this.waiting.delete(task);
      this.onGiveUp?.(task, state.attempt);
      return;
    }
    state.timer = setTimeout(() => void this.attempt(task), delay);
    state.timer.unref();
  }
}
