import net from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { freePort } from '../src/free-port.ts';
import { TcpBalancer } from '../src/tcp-balancer.ts';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** A backend that answers every line with its own name, and counts its connections. */
async function echoBackend(name: string): Promise<{ port: number; connections: () => number }> {
  let connections = 0;
  const server = net.createServer((socket) => {
    connections++;
    socket.on('data', () => socket.end(name));
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise((resolve) => server.close(() => resolve())));
  return { port: (server.address() as net.AddressInfo).port, connections: () => connections };
}

/** Opens a connection through the balancer, says hello and resolves with the whole answer ('' when dropped). */
function exchange(port: number): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = net.connect(port, '127.0.0.1', () => socket.write('hello\n'));
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', () => {});
    socket.on('close', () => resolve(Buffer.concat(chunks).toString()));
  });
}

it('skips a backend that refuses the connection: every connection reaches the live one, none is dropped', async () => {
  const deadPort = await freePort();
  const live = await echoBackend('live');
  const balancer = await TcpBalancer.start(() => [
    { host: '127.0.0.1', port: deadPort },
    { host: '127.0.0.1', port: live.port },
  ]);
  closers.push(() => balancer.stop());

  const connections = 12;
  const answers = [];
  // One after another, so the round robin puts the dead backend first for every other connection.
  for (let i = 0; i < connections; i++) answers.push(await exchange(balancer.port));
  expect(answers).toEqual(Array.from({ length: connections }, () => 'live'));
  expect(live.connections()).toBe(connections);
});

it('closes the connection when every backend refuses it', async () => {
  const deadPort = await freePort();
  const balancer = await TcpBalancer.start(() => [{ host: '127.0.0.1', port: deadPort }]);
  closers.push(() => balancer.stop());
  expect(await exchange(balancer.port)).toBe('');
});
