import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

const live = new Set<ChildProcess>();
// Whatever happens to the test process, the services it started die with it.
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
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

/** A child process whose output is kept (the last 300 lines) and which can be stopped or killed. */
export class ManagedProcess {
  readonly child: ChildProcess;
  readonly name: string;
  readonly recentLines: string[] = [];
  readonly exited: Promise<number | null>;
  #onLine: ((line: string) => void) | undefined;
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
