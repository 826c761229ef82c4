// /proc readers: CPU time and resident memory of a server process tree (Linux only). A tree, because our
// server may be started through a wrapper script; the wrapper's share is then included, which is honest.
import fs from 'node:fs';

const CLOCK_TICKS_PER_S = 100; // USER_HZ is 100 on every Linux ABI Node runs on.

interface StatFields {
  ppid: number;
  cpuTicks: number;
}

function readStat(pid: number): StatFields | null {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  // The command name (field 2) may contain spaces and parentheses; fields after the last ')' are fixed.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
  return { ppid: Number(rest[1]), cpuTicks: Number(rest[11]) + Number(rest[12]) };
}

/** The pid and all its live descendants. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of fs.readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    const st = readStat(pid);
    if (!st) continue;
    const list = children.get(st.ppid);
    if (list) list.push(pid);
    else children.set(st.ppid, [pid]);
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    out.push(pid);
    for (const c of children.get(pid) ?? []) stack.push(c);
  }
  return out;
}

/** utime+stime of the process tree, in milliseconds. */
export function treeCpuMs(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) ticks += readStat(pid)?.cpuTicks ?? 0;
  return (ticks * 1000) / CLOCK_TICKS_PER_S;
}

/** VmRSS summed over the tree, in bytes. */
export function treeRssBytes(pids: number[]): number {
  return treeStatusBytes(pids, /^VmRSS:\s+(\d+) kB/m);
}

/** VmHWM (peak resident set) summed over the tree, in bytes. */
export function treePeakRssBytes(pids: number[]): number {
  return treeStatusBytes(pids, /^VmHWM:\s+(\d+) kB/m);
}

/** RssAnon (anonymous resident memory: heaps, stacks; not the mapped program and libraries) over the tree. */
export function treeAnonRssBytes(pids: number[]): number {
  return treeStatusBytes(pids, /^RssAnon:\s+(\d+) kB/m);
}

function treeStatusBytes(pids: number[], field: RegExp): number {
  let kb = 0;
  for (const pid of pids) {
    try {
      const m = field.exec(fs.readFileSync(`/proc/${pid}/status`, 'latin1'));
      if (m) kb += Number(m[1]);
    } catch {
      // exited between listing and reading
    }
  }
  return kb * 1024;
}
