import type { ParleyError, ParleySocket } from '@parley/client';
import type { ChatMessage, ServerToClientEvents } from '@parley/protocol';

/** The next `event` on the socket whose payload satisfies `match`, ignoring others; rejects after `timeoutMs`. */
export function eventWhere<E extends keyof ServerToClientEvents>(
  socket: ParleySocket,
  event: E,
  match: (payload: Parameters<ServerToClientEvents[E]>[0]) => boolean,
  timeoutMs = 5000,
): Promise<Parameters<ServerToClientEvents[E]>[0]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no matching ${event} within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = socket.on(event, ((payload: Parameters<ServerToClientEvents[E]>[0]) => {
      if (!match(payload)) return;
      clearTimeout(timer);
      off();
      resolve(payload);
    }) as ServerToClientEvents[E]);
  });
}

/**
 * Sends a message from `sender` and tells whether `reader` received it. The
 * reader's own request is answered after anything already sent on its
 * connection, so its answer fences the delivery without a sleep.
 */
export function deliveryProbe(sender: ParleySocket, reader: ParleySocket, channelId: string) {
  const received: ChatMessage[] = [];
  reader.on('chat:new', (message) => received.push(message));
  let count = 0;
  return async (): Promise<boolean> => {
    const text = `probe ${++count}`;
    await sender.request('chat:send', { conversationId: channelId, text });
    await reader.request('chat:fetch', { conversationId: channelId, limit: 1 }).catch(() => undefined);
    return received.some((message) => message.conversationId === channelId && message.text === text);
  };
}

/** 'sent' when the socket may send to the channel, else the code it was refused with. */
export function sendError(socket: ParleySocket, channelId: string): Promise<string> {
  return socket.request('chat:send', { conversationId: channelId, text: 'may I?' }).then(
    () => 'sent',
    (error: ParleyError) => error.code,
  );
}
