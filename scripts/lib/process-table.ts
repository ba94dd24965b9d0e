// Which processes are alive, read from the kernel rather than from our own bookkeeping, so a
// check that nothing was left behind does not trust the code it checks. Linux (/proc) only.
import { existsSync, readdirSync, readFileSync } from 'node:fs';

export interface ProcessInfo {
  pid: number;
  command: string;
}

const readOrEmpty = (path: string): string => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    // It exited while we looked, or belongs to another user.
    return '';
  }
};

/** Every live process whose environment has `name=value` (inherited by whatever it started). */
export function processesWithEnv(name: string, value: string): ProcessInfo[] {
  if (!existsSync('/proc/self/environ'))
    throw new Error('the process table is read from /proc, which this system does not have');
  const wanted = `${name}=${value}`;
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry) && Number(entry) !== process.pid)
    .flatMap((entry) => {
      if (!readOrEmpty(`/proc/${entry}/environ`).split('\0').includes(wanted)) return [];
      // A zombie (exited, not yet reaped) is not running: its status says Z.
      if (/^State:\s+Z/m.test(readOrEmpty(`/proc/${entry}/status`))) return [];
      return [
        { pid: Number(entry), command: readOrEmpty(`/proc/${entry}/cmdline`).split('\0').join(' ').trim() },
      ];
    });
}
