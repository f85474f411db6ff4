// Free loopback ports, found by letting the kernel pick (bind port 0) and releasing it.
// Another process could take the port before our server binds it; the services retry
// with a new port when their server reports the address in use.
import { createServer } from 'node:net';

export const HOST = '127.0.0.1';

function listen(port) {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: HOST, port, exclusive: true }, () => {
      const bound = server.address().port;
      server.close(() => resolve(bound));
    });
  });
}

export function freePort() {
  return listen(0);
}

export async function isPortFree(port) {
  try {
    await listen(port);
    return true;
  } catch {
    return false;
  }
}

/** A port P with P+1 free too (OpenBao's dev server puts its cluster listener on P+1). */
export async function freePortPair() {
  for (let i = 0; i < 50; i++) {
    const port = await freePort();
    if (port < 65535 && (await isPortFree(port + 1))) return port;
  }
  throw new Error('no two adjacent free ports on 127.0.0.1 after 50 tries');
}
