// Redis from Debian's redis-server package, on a free loopback port, with a generated
// password and no persistence: nothing is written outside its data dir under .run/.
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { aptInstall, which } from '../install.mjs';
import { launch } from '../launch.mjs';
import { freePort, HOST } from '../ports.mjs';

const title = 'Redis';

/** AUTH + PING over a raw socket; resolves true on +OK +PONG, throws with what it got otherwise. */
export function ping({ port, password }, ms = 2_000) {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: HOST, port });
    let reply = '';
    const done = (error, value) => {
      socket.destroy();
      if (error) reject(error);
      else resolve(value);
    };
    socket.setTimeout(ms, () => done(new Error(`no PONG within ${ms} ms (got ${JSON.stringify(reply)})`)));
    socket.once('error', (error) => done(error));
    socket.on('data', (chunk) => {
      reply += chunk;
      if (reply.startsWith('-')) done(new Error(`redis answered ${reply.trim()}`));
      else if (reply.includes('+PONG')) done(null, true);
    });
    socket.once('connect', () => socket.write(`AUTH ${password}\r\nPING\r\n`));
  });
}

export default {
  name: 'redis',
  title,

  async install() {
    if (which('redis-server')) return;
    await aptInstall('redis', ['redis-server']);
  },

  async start() {
    const password = randomBytes(24).toString('hex');
    const redisServer = which('redis-server');
    return launch('redis', {
      title,
      plan: async ({ dataDir }) => {
        const port = await freePort();
        return {
          command: redisServer,
          port,
          extra: { password, binary: redisServer },
          args: Object.entries({
            bind: HOST,
            port,
            requirepass: password,
            'protected-mode': 'yes',
            daemonize: 'no', // detached by us, so that `down` can stop its process group
            save: '', // no RDB snapshots
            appendonly: 'no',
            dir: dataDir,
            logfile: '', // stdout, which goes to .run/redis/redis.log
          }).flatMap(([option, value]) => [`--${option}`, String(value)]),
        };
      },
      healthy: (state) => ping(state),
      timeoutSeconds: 60,
    });
  },

  check: (state) => ping(state),

  env(state) {
    return {
      REDIS_HOST: HOST,
      REDIS_PORT: state.port,
      REDIS_PASSWORD: state.password,
      REDIS_URL: `redis://:${state.password}@${HOST}:${state.port}`,
      REDIS_PID_FILE: state.pidFile,
      REDIS_LOG: state.logFile,
    };
  },
};
