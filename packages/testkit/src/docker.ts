import { existsSync } from 'node:fs';
import net from 'node:net';

let answer: Promise<boolean> | undefined;

/**
 * Whether a Docker engine answers. Checked cheaply (a socket ping) before
 * testcontainers is loaded, so machines without Docker pay nothing.
 */
export function dockerAvailable(env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  answer ??= probe(env);
  return answer;
}

async function probe(env: NodeJS.ProcessEnv): Promise<boolean> {
  const host = env.DOCKER_HOST;
  if (host && !host.startsWith('unix://')) return true; // a remote engine: let testcontainers decide
  const socketPath = host ? host.slice('unix://'.length) : '/var/run/docker.sock';
  if (!existsSync(socketPath)) return false;
  return new Promise((resolve) => {
    const socket = net.connect(socketPath);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('GET /_ping HTTP/1.0\r\n\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('HTTP/1.') && data.toString().includes(' 200 ')));
  });
}
