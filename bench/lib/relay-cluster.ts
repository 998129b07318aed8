import path from 'node:path';
import { ManagedProcess } from '@parley/testkit';
import type { BackingServices } from './backing-services.ts';
import { podAllocator, type Allocator } from './malloc.ts';
import { processTarget, type CpuTarget } from './process-cpu.ts';

const relayMain = path.resolve(import.meta.dirname, '../baseline/bare-relay.ts');

/** `bench/baseline/bare-relay.ts` processes sharing the scenario's Redis under a key prefix of their own. */
export class RelayCluster {
  readonly processes: readonly ManagedProcess[];
  readonly urls: readonly string[];

  private constructor(processes: ManagedProcess[], urls: string[]) {
    this.processes = processes;
    this.urls = urls;
  }

  /** On the pods' allocator unless `allocator` says otherwise: a fair baseline. */
  static async start(services: BackingServices, count: number, allocator: Allocator = podAllocator): Promise<RelayCluster> {
    const started = await Promise.allSettled(
      Array.from({ length: count }, (_, index) =>
        ManagedProcess.start(`relay-${index + 1}`, {
          command: process.execPath,
          args: [relayMain],
          env: {
            PATH: process.env.PATH,
            HOME: process.env.HOME,
            NODE_ENV: 'production',
            PORT: '0',
            REDIS_URL: services.redisUrl,
            REDIS_KEY_PREFIX: `${services.redisKeyPrefix}relay:`,
            ...allocator.env,
          },
          readyLine: /"msg":"listening"/,
        }),
      ),
    );
    const processes = started.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
    const failed = started.find((outcome) => outcome.status === 'rejected');
    if (failed) {
      await Promise.all(processes.map((relay) => relay.stop('SIGKILL')));
      throw failed.reason;
    }
    const urls = processes.map((relay) => {
      const line = relay.recentLines.find((candidate) => candidate.includes('"listening"')) ?? '{}';
      return `http://127.0.0.1:${(JSON.parse(line) as { port?: number }).port}`;
    });
    return new RelayCluster(processes, urls);
  }

  cpuTargets(): CpuTarget[] {
    return this.processes.map((relay) => processTarget(relay.name, 'relay', relay.pid!));
  }

  pid(index: number): number {
    const pid = this.processes[index]?.pid;
    if (pid === undefined) throw new Error(`no relay ${index}`);
    return pid;
  }

  async stop(): Promise<void> {
    await Promise.all(this.processes.map((relay) => relay.stop('SIGTERM', 5000)));
  }
}
