// The `--sync-exclude-tables` / `ovsdb-server/set-sync-exclude-tables` list (reference §5.5): parsed as the
// reference does on glibc, where no token is ever rejected.

/** A set of excluded (database, table) pairs. */
export class ExcludeList {
  private readonly pairs = new Map<string, { db: string; table: string }>();

  /** Parses the list text; null or "" is the empty list. Never throws. */
  static parse(text: string | null): ExcludeList {
    const list = new ExcludeList();
    if (text === null) return list;
    for (const token of text.split(/[ ,]+/)) {
      if (token === '') continue;
      // The separator is the first ':' that follows a non-colon character; without one, TABLE is "".
      let sep = -1;
      for (let i = 1; i < token.length; i++) {
        if (token[i] === ':' && token[i - 1] !== ':') {
          sep = i;
          break;
        }
      }
      const db = sep < 0 ? token : token.slice(0, sep);
      const table = sep < 0 ? '' : token.slice(sep + 1);
      list.pairs.set(`${db}:${table}`, { db, table });
    }
    return list;
  }

  has(db: string, table: string): boolean {
    return this.pairs.has(`${db}:${table}`);
  }

  get size(): number {
    return this.pairs.size;
  }

  /** "DB:TABLE" pairs, sorted, joined with ","; "" when empty (get-sync-exclude-tables, sync-status). */
  toString(): string {
    return [...this.pairs.keys()].sort(byteOrder).join(',');
  }
}

function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
