// A pool of load-generator worker threads. One Node thread cannot drive hundreds of connections and measure
// them at the same time without becoming the bottleneck, so multi-client phases split clients over workers.
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import type { FromWorker, TaskSpec, ToWorker, WorkerDone } from './protocol.ts';

/** Distributes specs over the pool; specs[i] goes to worker i (null = that worker sits this task out). */
export interface RunningTask {
  ready: Promise<void>;
  go(): void;
  done: Promise<WorkerDone[]>;
  abort(): void;
}

// Workers do not inherit tsx's loader, so each one registers it and then imports the TypeScript entry.
function bootstrapSource(): string {
  const require = createRequire(import.meta.url);
  const api = pathToFileURL(require.resolve('tsx/esm/api')).href.replace(/\.cjs$/, '.mjs');
  const entry = new URL('./gen-worker.ts', import.meta.url).href;
  return `import(${JSON.stringify(api)})
    .then((m) => m.tsImport(${JSON.stringify(entry)}, ${JSON.stringify(entry)}))
    .catch((e) => { console.error(e); process.exit(1); });`;
}

export class GeneratorPool {
  private nextTaskId = 1;
  private readonly listeners = new Map<number, (msg: FromWorker) => void>();

  private constructor(private readonly workers: Worker[]) {
    for (const w of workers) {
      w.on('message', (msg: FromWorker) => this.listeners.get(msg.taskId)?.(msg));
    }
  }

  static async start(n: number): Promise<GeneratorPool> {
    const src = bootstrapSource();
    const workers = Array.from({ length: n }, () => new Worker(src, { eval: true }));
    for (const w of workers) w.unref();
    const pool = new GeneratorPool(workers);
    // A no-op task proves every worker loaded its module before any measurement begins.
    await Promise.all(
      workers.map(async (_w, i) => {
        const t = pool.run(workers.map((_, j) => (j === i ? probe() : null)));
        await t.ready;
        t.go();
        await t.done;
      }),
    );
    return pool;
  }

  get size(): number {
    return this.workers.length;
  }

  /** Posts one task per worker (taskId is filled in here); resolves `ready` once all have connected. */
  run(specs: (TaskSpec | null)[]): RunningTask {
    const taskId = this.nextTaskId++;
    const active = specs.flatMap((s, i) => (s ? [{ spec: { ...s, taskId }, worker: this.workers[i]! }] : []));
    let readyCount = 0;
    const results: WorkerDone[] = [];
    let resolveReady!: () => void;
    let resolveDone!: (r: WorkerDone[]) => void;
    let reject!: (e: Error) => void;
    const ready = new Promise<void>((res, rej) => {
      resolveReady = res;
      reject = (e) => {
        rej(e);
        rejectDone(e);
      };
    });
    let rejectDone!: (e: Error) => void;
    const done = new Promise<WorkerDone[]>((res, rej) => {
      resolveDone = res;
      rejectDone = rej;
    });
    // Callers may abandon one of the two; never let that become an unhandled rejection.
    ready.catch(() => undefined);
    done.catch(() => undefined);
    const onExit = (code: number) => reject(new Error(`generator worker exited (${code})`));
    this.listeners.set(taskId, (msg) => {
      if (msg.type === 'ready') {
        if (++readyCount === active.length) resolveReady();
      } else if (msg.type === 'done') {
        results.push(msg);
        if (results.length === active.length) {
          cleanup();
          resolveDone(results);
        }
      } else {
        cleanup();
        abort();
        reject(new Error(`generator: ${msg.message}`));
      }
    });
    const cleanup = () => {
      this.listeners.delete(taskId);
      for (const a of active) a.worker.off('exit', onExit);
    };
    const post = (m: ToWorker) => {
      for (const a of active) a.worker.postMessage(m);
    };
    const abort = () => post({ type: 'abort', taskId });
    for (const a of active) {
      a.worker.on('exit', onExit);
      a.worker.postMessage(a.spec);
    }
    if (active.length === 0) {
      resolveReady();
      resolveDone([]);
    }
    return {
      ready,
      go: () => post({ type: 'go', taskId }),
      done,
      abort: () => {
        cleanup();
        abort();
        reject(new Error('aborted'));
      },
    };
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

function probe(): TaskSpec {
  return { type: 'subscribe', taskId: 0, endpoint: 'unix:/nonexistent', db: '', clients: 0, method: 'monitor', expected: 0, prefix: '' };
}
