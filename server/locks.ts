// Server-wide named locks (RFC 7047 §4.1.8–4.1.10 and reference §3.11): `lock` queues at the tail, `steal`
// pushes to the head, the head owns the lock. Owners are notified with `locked` / `stolen`.

export interface LockHolder {
  /** Sends a `locked` or `stolen` notification for `name`. */
  notifyLock(method: 'locked' | 'stolen', name: string): void;
}

interface Waiter {
  readonly holder: LockHolder;
  /** How it got (or is waiting for) the lock: a `steal`er displaced by another steal leaves the queue. */
  readonly mode: 'lock' | 'steal';
}

export class LockManager {
  private readonly queues = new Map<string, Waiter[]>();
  /** Per holder: names it has issued lock/steal for and not yet unlocked. */
  private readonly requested = new Map<LockHolder, Set<string>>();

  private requestedBy(h: LockHolder): Set<string> {
    let s = this.requested.get(h);
    if (s === undefined) this.requested.set(h, (s = new Set()));
    return s;
  }

  hasRequested(h: LockHolder, name: string): boolean {
    return this.requested.get(h)?.has(name) ?? false;
  }

  owns(h: LockHolder, name: string): boolean {
    return this.queues.get(name)?.[0]?.holder === h;
  }

  /** `lock`: returns whether the lock was acquired at once. */
  lock(h: LockHolder, name: string): boolean {
    this.requestedBy(h).add(name);
    let q = this.queues.get(name);
    if (q === undefined) this.queues.set(name, (q = []));
    q.push({ holder: h, mode: 'lock' });
    return q.length === 1;
  }

  /** `steal`: always acquires; the displaced owner is told it was stolen. */
  steal(h: LockHolder, name: string): void {
    this.requestedBy(h).add(name);
    let q = this.queues.get(name);
    if (q === undefined) this.queues.set(name, (q = []));
    const prev = q[0];
    if (prev !== undefined) {
      prev.holder.notifyLock('stolen', name);
      if (prev.mode === 'steal') q.shift();
    }
    q.unshift({ holder: h, mode: 'steal' });
  }

  /** `unlock` (or session close): leave the queue; the head is told it holds the lock. */
  unlock(h: LockHolder, name: string): void {
    this.requested.get(h)?.delete(name);
    const q = this.queues.get(name);
    if (q === undefined) return;
    const i = q.findIndex((w) => w.holder === h);
    if (i < 0) return;
    q.splice(i, 1);
    if (q.length === 0) {
      this.queues.delete(name);
      return;
    }
    // As the reference does, the head is notified even if it already owned the lock.
    q[0].holder.notifyLock('locked', name);
  }

  releaseAll(h: LockHolder): void {
    for (const name of [...(this.requested.get(h) ?? [])]) this.unlock(h, name);
    this.requested.delete(h);
  }

  /** For memory/show and status: names held, waited for. */
  describe(h: LockHolder): { held: string[]; waiting: string[] } {
    const held: string[] = [];
    const waiting: string[] = [];
    for (const name of this.requested.get(h) ?? []) (this.owns(h, name) ? held : waiting).push(name);
    return { held: held.sort(), waiting: waiting.sort() };
  }
}
