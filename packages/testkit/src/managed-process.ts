import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const live = new Set<ChildProcess>();
// Whatever happens to the test process, the services it started die with it,
// and so do their children (a frozen Postgres backend would not notice its postmaster's death).
process.once('exit', () => {
  for (const child of live) {
    for (const pid of descendantsOf(child.pid)) signalQuietly(pid, 'SIGKILL');
    child.kill('SIGKILL');
  }
});

export interface ManagedProcessOptions {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  uid?: number;
  gid?: number;
  /** A line on stdout or stderr that means "ready". */
  readyLine: RegExp;
  /** Default 30 s. */
  readyTimeoutMs?: number;
  /** Receives every output line. */
  onLine?: (line: string) => void;
}

/**
 * A child process whose output is kept (the last 300 lines) and which can be
 * stopped, killed, or frozen and thawed (fault tests).
 */
export class ManagedProcess {
  readonly child: ChildProcess;
  readonly name: string;
  readonly recentLines: string[] = [];
  readonly exited: Promise<number | null>;
  #onLine: ((line: string) => void) | undefined;
  #paused = false;
  #lineWaiters = new Set<{ pattern: RegExp; resolve: (match: RegExpMatchArray) => void }>();

  private constructor(name: string, child: ChildProcess, onLine?: (line: string) => void) {
    this.name = name;
    this.child = child;
    this.#onLine = onLine;
    live.add(child);
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        live.delete(child);
        resolve(code ?? (signal ? null : 0));
      });
    });
    for (const stream of [child.stdout, child.stderr]) {
      let buffered = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        buffered += chunk;
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) this.#receive(line);
      });
    }
  }

  static async start(name: string, options: ManagedProcessOptions): Promise<ManagedProcess> {
    const spawnOptions: SpawnOptions = {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.gid }),
    };
    const child = spawn(options.command, options.args, spawnOptions);
    const managed = new ManagedProcess(name, child, options.onLine);
    const failedToStart = new Promise<never>((_, reject) => {
      child.once('error', reject);
      void managed.exited.then((code) =>
        reject(new Error(`${name} exited with ${code} before it was ready:\n${managed.recentLines.join('\n')}`)),
      );
    });
    try {
      await Promise.race([managed.waitForLine(options.readyLine, options.readyTimeoutMs ?? 30_000), failedToStart]);
    } catch (error) {
      child.kill('SIGKILL');
      throw error;
    }
    return managed;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Whether `pause()` froze it and `resume()` has not thawed it yet. */
  get paused(): boolean {
    return this.#paused;
  }

  /**
   * Freezes the process and every process it started (SIGSTOP), as a hung
   * host or a long GC pause would: connections stay open and nothing answers.
   * The process is stopped first, so it forks no new child meanwhile. Its
   * children are signalled one by one, not as a process group: servers such
   * as Postgres put each backend in a session of its own. Resolves once every
   * one of them is stopped (on Linux, where /proc tells; elsewhere at once).
   */
  async pause(): Promise<void> {
    if (!this.running || this.#paused) return;
    this.#paused = true;
    this.child.kill('SIGSTOP');
    const pids = [this.child.pid!, ...descendantsOf(this.child.pid)];
    for (const pid of pids.slice(1)) signalQuietly(pid, 'SIGSTOP');
    const deadline = Date.now() + 5000;
    while (!pids.every(isStopped)) {
      if (Date.now() > deadline) throw new Error(`${this.name}: not every process stopped within 5 s after SIGSTOP`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Thaws what `pause()` froze (SIGCONT), children first. */
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    for (const pid of descendantsOf(this.child.pid)) signalQuietly(pid, 'SIGCONT');
    if (this.running) this.child.kill('SIGCONT');
  }

  /** Resolves with the first line (from now on) matching `pattern`. */
  waitForLine(pattern: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const waiter = {
        pattern,
        resolve: (match: RegExpMatchArray) => {
          clearTimeout(timer);
          resolve(match);
        },
      };
      const timer = setTimeout(() => {
        this.#lineWaiters.delete(waiter);
        reject(new Error(`${this.name}: no line matching ${pattern} within ${timeoutMs} ms:\n${this.recentLines.join('\n')}`));
      }, timeoutMs);
      this.#lineWaiters.add(waiter);
    });
  }

  /** Sends `signal` and waits for the exit; SIGKILL after `graceMs`. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<number | null> {
    if (!this.running) return this.exited;
    this.child.kill(signal);
    // A frozen process would hold the signal until the grace period ran out.
    this.resume();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  #receive(line: string): void {
    this.recentLines.push(line);
    if (this.recentLines.length > 300) this.recentLines.shift();
    this.#onLine?.(line);
    for (const waiter of this.#lineWaiters) {
      const match = line.match(waiter.pattern);
      if (match) {
        this.#lineWaiters.delete(waiter);
        waiter.resolve(match);
      }
    }
  }
}

/** The pids of every living process below `pid` (Linux: read from /proc; elsewhere none). */
export function descendantsOf(pid: number | undefined): number[] {
  if (pid === undefined) return [];
  const children = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // It exited while we looked.
    }
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ')'.
    const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const siblings = children.get(parent) ?? [];
    siblings.push(Number(entry));
    children.set(parent, siblings);
  }
  const found: number[] = [];
  const pending = [...(children.get(pid) ?? [])];
  while (pending.length > 0) {
    const next = pending.pop()!;
    found.push(next);
    pending.push(...(children.get(next) ?? []));
  }
  return found;
}

/** Whether a process is stopped by a signal (or gone); true where /proc cannot tell. */
function isStopped(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return true;
  }
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state === 'T' || state === 't' || state === 'Z' || state === 'X';
}

function signalQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // It exited meanwhile.
  }
}
