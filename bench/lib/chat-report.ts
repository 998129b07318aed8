import type { PhaseResult } from './load-phase.ts';
import { errorCount } from './load-phase.ts';
import { cpuOfRole } from './process-cpu.ts';
import type { Table } from './scenario.ts';

/** CPU ms per 10,000 deliveries of the window, by role: what one delivery costs each part of the system. */
export function cpuPer10kDeliveries(result: PhaseResult): {
  servers: number;
  postgres: number;
  redis: number;
  loadGenerator: number;
  total: number;
} {
  const per10k = (ms: number) => (result.deliveries > 0 ? (ms / result.deliveries) * 10_000 : Number.NaN);
  const servers = cpuOfRole(result.cpu, 'pod') + cpuOfRole(result.cpu, 'relay');
  const postgres = cpuOfRole(result.cpu, 'postgres');
  const redis = cpuOfRole(result.cpu, 'redis');
  const loadGenerator = cpuOfRole(result.cpu, 'load generator');
  const known = [servers, postgres, redis, loadGenerator].filter(Number.isFinite);
  return {
    servers: per10k(servers),
    postgres: per10k(postgres),
    redis: per10k(redis),
    loadGenerator: per10k(loadGenerator),
    total: per10k(known.reduce((sum, ms) => sum + ms, 0)),
  };
}

/** One row per process: CPU as % of one core over the window, and per 10k deliveries. */
export function cpuTable(title: string, runs: ReadonlyArray<{ label: string; result: PhaseResult }>): Table {
  return {
    title,
    columns: ['run', 'process', 'CPU % of a core', 'CPU ms per 10k deliveries'],
    rows: runs.flatMap(({ label, result }) => [
      ...result.cpu.targets.map((target) => [
        label,
        target.name,
        target.percentOfCore,
        result.deliveries > 0 ? (target.cpuMs / result.deliveries) * 10_000 : Number.NaN,
      ]),
      [label, 'everything else on the machine (not this benchmark)', result.cpu.otherPercentOfCore, Number.NaN],
      [label, `whole machine (${result.cpu.cores} cores = ${result.cpu.cores * 100}%)`, result.cpu.machineBusyPercent * result.cpu.cores, Number.NaN],
    ]),
  };
}

/** Failures of a window as one cell: failed acks by code and lost deliveries. */
export function failuresCell(result: PhaseResult): string {
  const parts = Object.entries(result.ackErrors).map(([code, count]) => `${count} ${code}`);
  if (result.missingAcks > 0) parts.push(`${result.missingAcks} unacked`);
  if (result.lostDeliveries > 0) parts.push(`${result.lostDeliveries} lost`);
  return parts.length > 0 ? parts.join(', ') : errorCount(result) === 0 ? '0' : String(errorCount(result));
}

/** Which process used the most CPU in the window, and how busy the machine was: what limited the load. */
export function bottleneckNote(label: string, result: PhaseResult): string {
  const busiest = [...result.cpu.targets].filter((target) => Number.isFinite(target.cpuMs)).sort((a, b) => b.cpuMs - a.cpuMs);
  const shares = busiest.map((target) => `${target.name} ${target.percentOfCore.toFixed(0)}%`).join(', ');
  const machine = result.cpu.machineBusyPercent;
  return (
    `${label}: machine ${machine.toFixed(0)}% busy (of ${result.cpu.cores} cores); CPU % of one core: ${shares}, ` +
    `everything else on the machine ${result.cpu.otherPercentOfCore.toFixed(0)}%; ` +
    `load generator event-loop delay p99 ${result.loadGeneratorLoopDelayMs.p99.toFixed(1)} ms.`
  );
}

/** Postgres CPU ms per message the servers acknowledged (Parley acknowledges after the commit): NaN without acks. */
export function postgresMsPerPersistedMessage(result: PhaseResult): number {
  return result.acksOk > 0 ? cpuOfRole(result.cpu, 'postgres') / result.acksOk : Number.NaN;
}
