// `relay:DB:REMOTE[,REMOTE…]` database arguments (raft.md §5.1) and the ovsdb-cs remote lists they end in
// (comma-separated connection methods, optionally one `cid:<uuid>` element). Pure: no I/O.
import { isUuid } from '../schema/atom.ts';
import { OvsdbError } from '../schema/error.ts';

export const RELAY_PREFIX = 'relay:';

export interface RemoteList {
  readonly remotes: string[];
  /** The `cid:<uuid>` element, lowercased, or null. */
  readonly cid: string | null;
}

export interface RelaySpec extends RemoteList {
  /** The database name (between `relay:` and the next colon). */
  readonly name: string;
  /** The argument as given (what --monitor restarts and list-dbs bookkeeping keep). */
  readonly text: string;
}

export function isRelaySpec(arg: string): boolean {
  return arg.startsWith(RELAY_PREFIX);
}

/**
 * Splits `relay:DB:REMOTES`. As the reference: without a colon after the name it is `relay:X: invalid
 * syntax` (an "ovsdb error"); an empty name or an empty remote list is accepted (the latter never connects).
 */
export function parseRelaySpec(arg: string): RelaySpec {
  const rest = arg.slice(RELAY_PREFIX.length);
  const colon = rest.indexOf(':');
  if (colon < 0) throw new OvsdbError('ovsdb error', `${arg}: invalid syntax`);
  const { remotes, cid } = parseRemoteList(rest.slice(colon + 1));
  return { name: rest.slice(0, colon), remotes, cid, text: arg };
}

/**
 * An ovsdb-cs remote list: a comma starts a new remote only when what follows it (after blanks) looks
 * like `method:`, so commas inside a remote survive; the first `cid:<uuid>` element is taken out.
 */
export function parseRemoteList(s: string): RemoteList {
  const remotes: string[] = [];
  let rest = s;
  for (;;) {
    rest = rest.replace(/^[ \t]+/, '');
    if (rest === '') break;
    const cut = nextRemote(rest);
    if (cut < 0) {
      remotes.push(rest);
      break;
    }
    remotes.push(rest.slice(0, cut));
    rest = rest.slice(cut + 1);
  }
  let cid: string | null = null;
  const i = remotes.findIndex((r) => r.startsWith('cid:') && isUuid(r.slice(4)));
  if (i >= 0) {
    cid = remotes[i].slice(4).toLowerCase();
    remotes.splice(i, 1);
  }
  return { remotes, cid };
}

function nextRemote(s: string): number {
  for (let d = s.indexOf(','); d >= 0; d = s.indexOf(',', d + 1)) {
    if (/^[ \t]*[a-z]+:/.test(s.slice(d + 1))) return d;
  }
  return -1;
}

/** A random order, as the reference's ovsdb-cs shuffles its remotes (load spreads over the sources). */
export function shuffled<T>(items: readonly T[], random: () => number = Math.random): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
