// A clock tests move by hand: now() stands still until advance(); sleepers wake when their time is reached.
import type { Clock } from '../../lib/clock.ts';

export class FakeClock implements Clock {
  private t: number;
  private sleepers: { at: number; wake: () => void }[] = [];

  constructor(start: Date) {
    this.t = start.getTime();
  }

  now(): Date {
    return new Date(this.t);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const sleeper = {
        at: this.t + Math.max(0, ms),
        wake: () => {
          this.sleepers = this.sleepers.filter((s) => s !== sleeper);
          signal?.removeEventListener('abort', sleeper.wake);
          resolve();
        },
      };
      this.sleepers.push(sleeper);
      signal?.addEventListener('abort', sleeper.wake, { once: true });
    });
  }

  /** How many are waiting on the clock (a loop that went back to sleep counts one). */
  get waiting(): number {
    return this.sleepers.length;
  }

  /** Moves time forward and wakes everyone whose time has come. */
  advance(ms: number): void {
    this.t += ms;
    for (const s of this.sleepers.filter((x) => x.at <= this.t)) s.wake();
  }
}
