// A local stand-in for a chat robot's webhook (WeCom/DingTalk): records every message it is sent and answers
// as WeCom does ("errcode 0"), or as a test tells it to.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedWebhook {
  path: string;
  query: URLSearchParams;
  body: { msgtype: string; markdown: { content?: string; title?: string; text?: string } };
}

export interface WebhookReceiver {
  /** http://127.0.0.1:PORT — append a path (and a key) per robot. */
  baseUrl: string;
  /** Every message, in the order received. */
  received: ReceivedWebhook[];
  /** What the next requests are answered with. */
  answer: { status: number; body: string };
  close(): Promise<void>;
}

export const WECOM_OK = '{"errcode":0,"errmsg":"ok"}';

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const receiver: Omit<WebhookReceiver, 'baseUrl' | 'close'> = { received: [], answer: { status: 200, body: WECOM_OK } };
  const server = createServer((req, res) => {
    let data = '';
    req.on('data', (chunk: Buffer) => (data += chunk.toString('utf8')));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      receiver.received.push({ path: url.pathname, query: url.searchParams, body: JSON.parse(data) as ReceivedWebhook['body'] });
      res.writeHead(receiver.answer.status, { 'content-type': 'application/json' }).end(receiver.answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(receiver, {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  });
}
