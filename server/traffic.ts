// A process-wide count of bytes that passed through JSON-RPC connections (read and written) plus a charge per
// closed connection, and a hook for each large message once it has been handled or written. Each counted byte
// left garbage behind (chunks, message strings, parsed values, encoded replies); cli/memory-relief.ts decides
// from these when the process should collect it.

/** What a closed connection leaves to collect (socket, session, buffers), as counted bytes. */
export const CLOSED_CONNECTION_BYTES = 16 * 1024;
/** A message at least this long (UTF-16 units) is reported to the large-message hook. */
export const LARGE_MESSAGE_CHARS = 16 * 1024 * 1024;

let bytes = 0;
let onLarge: ((chars: number) => void) | null = null;

/** Counts `n` bytes read or written. */
export function noteTraffic(n: number): void {
  bytes += n;
}

/** Bytes counted since the process started. */
export function trafficBytes(): number {
  return bytes;
}

/**
 * A message of `chars` ≥ LARGE_MESSAGE_CHARS was handled (received: called once the read that completed it is
 * done) or completely written (sent).
 */
export function noteLargeMessage(chars: number): void {
  onLarge?.(chars);
}

/** Sets the large-message hook (one per process; null removes it). */
export function setLargeMessageHook(hook: ((chars: number) => void) | null): void {
  onLarge = hook;
}
