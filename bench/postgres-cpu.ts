import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU time of a local PostgreSQL server, read from /proc (Linux): the client backends serving one
 * database, and every process of the server (backends plus WAL writer, checkpointer, background
 * writer, autovacuum), so a benchmark can report what storing a row costs the database as well as
 * the app.
 */

const TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

interface ProcStat {
  ppid: number;
  /** utime + stime, in microseconds. */
  cpuUs: number;
}

function procStat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: fields are counted after its closing parenthesis.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return { ppid: Number(fields[1]), cpuUs: (ticks * 1e6) / TICKS_PER_SECOND };
  } catch {
    return undefined;
  }
}

/** CPU microseconds used so far by a server's processes. */
export interface PostgresCpuSample {
  /** The given backends (those serving the benchmark's connections). */
  backendsUs: number;
  /** The postmaster and all its children. */
  serverUs: number;
}

/** Reads the CPU time of `backendPids` and of the whole server they belong to. */
export function samplePostgresCpu(backendPids: readonly number[]): PostgresCpuSample {
  let backendsUs = 0;
  let postmaster = 0;
  for (const pid of backendPids) {
    const stat = procStat(pid);
    if (!stat) continue;
    backendsUs += stat.cpuUs;
    postmaster = stat.ppid;
  }
  let serverUs = postmaster ? (procStat(postmaster)?.cpuUs ?? 0) : 0;
  if (postmaster) {
    for (const entry of readdirSync('/proc')) {
      const pid = Number(entry);
      if (!Number.isInteger(pid)) continue;
      const stat = procStat(pid);
      if (stat?.ppid === postmaster) serverUs += stat.cpuUs;
    }
  }
  return { backendsUs, serverUs };
}

/** True when the server's processes can be read here (same machine, Linux /proc). */
export function canReadPostgresCpu(backendPids: readonly number[]): boolean {
  return backendPids.some((pid) => procStat(pid) !== undefined);
}
