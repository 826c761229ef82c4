// A stream proxy per directed Raft link, for partition tests. With relative `unix:sN.raft` addresses and
// one OVS_RUNDIR per member (ClusterLab `relative: 'per-member'`), the address a member connects to names a
// socket in its own run dir: the proxy for the link A→B listens there (run-A/B.raft) and forwards to B's real
// listener (run-B/B.raft). So every connection A opens to B goes through the A→B proxy, and a partition is a
// set of cut links.
//
// A cut link is a black hole, as a partition is: bytes in either direction are dropped, connections stay
// open (the members notice the silence: election timeouts, inactivity probes), new connections are
// accepted and fed nothing. Healing closes every connection that went through the cut (their streams lost
// bytes) and lets new ones through.
import fs from 'node:fs';
import net from 'node:net';
import type { ClusterLab } from './cluster.ts';

interface Pair {
  readonly client: net.Socket;
  upstream: net.Socket | null;
  cut: boolean;
}

export class LinkProxy {
  private readonly server: net.Server;
  private readonly pairs = new Set<Pair>();
  private isCut = false;
  /** Bytes forwarded (both directions), to show that traffic flowed. */
  forwarded = 0;

  constructor(
    readonly from: string,
    readonly to: string,
    readonly listenPath: string,
    readonly targetPath: string,
  ) {
    this.server = net.createServer((client) => this.accept(client));
  }

  listen(): Promise<void> {
    fs.rmSync(this.listenPath, { force: true });
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.listenPath, () => resolve());
    });
  }

  private accept(client: net.Socket): void {
    const pair: Pair = { client, upstream: null, cut: this.isCut };
    this.pairs.add(pair);
    const drop = () => {
      this.pairs.delete(pair);
      client.destroy();
      pair.upstream?.destroy();
    };
    client.on('error', drop);
    client.on('close', drop);
    if (pair.cut) {
      client.on('data', () => {}); // swallowed
      return;
    }
    const up = net.connect({ path: this.targetPath });
    pair.upstream = up;
    up.on('error', drop);
    up.on('close', drop);
    client.on('data', (d: Buffer) => {
      if (!pair.cut) {
        this.forwarded += d.length;
        up.write(d);
      }
    });
    up.on('data', (d: Buffer) => {
      if (!pair.cut) {
        this.forwarded += d.length;
        client.write(d);
      }
    });
  }

  cut(): void {
    this.isCut = true;
    for (const p of this.pairs) p.cut = true;
  }

  heal(): void {
    this.isCut = false;
    for (const p of [...this.pairs]) {
      if (!p.cut) continue;
      this.pairs.delete(p);
      p.client.destroy();
      p.upstream?.destroy();
    }
  }

  close(): Promise<void> {
    for (const p of this.pairs) {
      p.client.destroy();
      p.upstream?.destroy();
    }
    this.pairs.clear();
    return new Promise((r) => this.server.close(() => r()));
  }
}

/** Proxies for every directed link between members s1..sN of a `relative: 'per-member'` lab. */
export class LinkProxies {
  readonly links: LinkProxy[] = [];

  static async start(lab: ClusterLab, names: string[]): Promise<LinkProxies> {
    if (lab.opts.relative !== 'per-member') throw new Error('link proxies need per-member run dirs');
    const p = new LinkProxies();
    for (const a of names) {
      for (const b of names) {
        if (a === b) continue;
        const link = new LinkProxy(a, b, `${lab.rundir(a)}/${b}.raft`, `${lab.rundir(b)}/${b}.raft`);
        await link.listen();
        p.links.push(link);
      }
    }
    return p;
  }

  /** Every link to and from `name`. */
  of(name: string): LinkProxy[] {
    return this.links.filter((l) => l.from === name || l.to === name);
  }

  isolate(name: string): void {
    for (const l of this.of(name)) l.cut();
  }

  heal(): void {
    for (const l of this.links) l.heal();
  }

  async close(): Promise<void> {
    await Promise.all(this.links.map((l) => l.close()));
  }
}
