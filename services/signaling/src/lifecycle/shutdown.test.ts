import { pino } from 'pino';
import { expect, it } from 'vitest';
import { ShutdownRegistry } from './shutdown.ts';

const silent = pino({ level: 'silent' });

it('runs the steps once, in the order they were added, even when one fails', async () => {
  const ran: string[] = [];
  const registry = new ShutdownRegistry(silent);
  registry.add('stop accepting', () => void ran.push('stop accepting'));
  registry.add('drain sockets', async () => {
    ran.push('drain sockets');
    throw new Error('a socket would not close');
  });
  registry.add('close redis', async () => void ran.push('close redis'));
  registry.add('close database', async () => void ran.push('close database'));

  await Promise.all([registry.run('SIGTERM'), registry.run('SIGINT')]);
  await registry.run('again');
  expect(ran).toEqual(['stop accepting', 'drain sockets', 'close redis', 'close database']);
});
