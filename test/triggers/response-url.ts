// A local stand-in for Slack's response_url in chat tests: an HTTP server on
// loopback that records each JSON post with the time it arrived.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Posted {
  at: number;
  body: { response_type: string; text: string };
}

export interface ResponseUrl {
  url: string;
  posts: Posted[];
  close(): Promise<void>;
}

export async function startResponseUrl(): Promise<ResponseUrl> {
  const posts: Posted[] = [];
  const server = createServer((req, res) => {
    let data = '';
    req.setEncoding('utf8').on('data', (d: string) => (data += d));
    req.on('end', () => {
      posts.push({ at: Date.now(), body: JSON.parse(data) as Posted['body'] });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    posts,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
