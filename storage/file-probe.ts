// Reading a few bytes at a fixed offset of a file, to tell its kind (clustered log, LMDB data file) before
// opening it for real.
import fs from 'node:fs';

/** `length` bytes of `path` at `offset`; null if the file cannot be opened or is shorter. */
export function readFileBytes(path: string, offset: number, length: number): Buffer | null {
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const buf = Buffer.alloc(length);
    return fs.readSync(fd, buf, 0, length, offset) === length ? buf : null;
  } finally {
    fs.closeSync(fd);
  }
}
