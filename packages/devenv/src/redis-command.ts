import { connect } from 'node:net';

/**
 * One command to one Redis node on a fresh loopback connection, for the local
 * cluster's readiness and failover checks (redis-cluster.ts): a client
 * library would be a dependency for a handful of calls, and a redis-cli per
 * poll would cost a process spawn every 100 ms per node on a 2-core machine.
 * Answers a bulk, simple or integer reply as text; an error reply rejects.
 */
export function redisCommand(host: string, port: number, args: string[], timeoutMs = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let settled = false;
    let buffer = Buffer.alloc(0);
    const finish = (err: Error | undefined, reply = '') => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (err) reject(err);
      else resolve(reply);
    };
    socket.setTimeout(timeoutMs, () => finish(new Error(`${host}:${port} did not answer ${args.join(' ')} within ${timeoutMs} ms`)));
    socket.once('error', (err) => finish(err));
    socket.once('close', () => finish(new Error(`${host}:${port} closed the connection before answering ${args.join(' ')}`)));
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      const eol = buffer.indexOf('\r\n');
      if (eol < 0) return;
      const head = buffer.subarray(1, eol).toString();
      switch (buffer[0]) {
        case 0x24 /* $ */: {
          const length = Number(head);
          if (length < 0) return finish(undefined, '');
          if (buffer.length < eol + 2 + length) return;
          return finish(undefined, buffer.subarray(eol + 2, eol + 2 + length).toString());
        }
        case 0x2d /* - */:
          return finish(new Error(`${host}:${port} ${args.join(' ')}: ${head}`));
        default: // + and :
          return finish(undefined, head);
      }
    });
    socket.write(args.reduce((out, arg) => `${out}$${Buffer.byteLength(arg)}\r\n${arg}\r\n`, `*${args.length}\r\n`));
  });
}

/** INFO and CLUSTER INFO text as fields: `cluster_state:ok` → { cluster_state: 'ok' }. */
export function infoFields(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) fields[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return fields;
}
