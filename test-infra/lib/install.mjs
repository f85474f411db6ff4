// Installing what the services need: Debian packages through apt-get, Python packages into
// virtualenvs under test-infra/.venv/. Each install is skipped when its result is already there.
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { InfraError, step } from './log.mjs';
import { INSTALL_LOG_DIR, VENV_DIR } from './paths.mjs';
import { capture, runLogged } from './proc.mjs';

/** The absolute path of an executable on PATH (plus the sbin dirs apt uses), or null. */
export function which(command, extraDirs = []) {
  const dirs = [...(process.env.PATH || '').split(delimiter), ...extraDirs, '/usr/sbin', '/usr/bin', '/sbin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

// ---------------------------------------------------------------- Debian packages

let aptChain = Promise.resolve();

/**
 * Installs Debian packages (one apt-get at a time: dpkg has a single lock). Tries the
 * install first and runs `apt-get update` only if that fails (a fresh machine has no or
 * stale package lists), then tries once more.
 */
export function aptInstall(service, packages) {
  const job = aptChain.then(() => aptInstallNow(service, packages));
  aptChain = job.catch(() => {});
  return job;
}

async function aptInstallNow(service, packages) {
  const logFile = join(INSTALL_LOG_DIR, 'apt.log');
  mkdirSync(INSTALL_LOG_DIR, { recursive: true });
  const aptGet = which('apt-get');
  const isRoot = process.getuid?.() === 0;
  const sudo = isRoot ? null : which('sudo');
  if (!aptGet || (!isRoot && !sudo)) {
    throw new InfraError(
      service,
      `needs the Debian package(s) ${packages.join(' ')}, and ${aptGet ? 'this user is not root and has no sudo' : 'apt-get is not available'}: install them yourself (apt-get install ${packages.join(' ')}) and run up again`,
    );
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const run = (args) =>
    sudo
      ? runLogged(sudo, ['-n', aptGet, ...args], { env, logFile })
      : runLogged(aptGet, args, { env, logFile });
  const install = [
    '-o',
    'DPkg::Lock::Timeout=120',
    'install',
    '-y',
    '-q',
    '--no-install-recommends',
    ...packages,
  ];
  step(service, `installing Debian package(s) ${packages.join(' ')} (apt-get, log ${logFile})`);
  let result = await run(install);
  if (result.code !== 0) {
    step(service, 'apt-get install failed; running apt-get update and trying again');
    await run(['-o', 'DPkg::Lock::Timeout=120', 'update', '-q']);
    result = await run(install);
  }
  if (result.code !== 0) {
    throw new InfraError(service, `apt-get install ${packages.join(' ')} failed (exit ${result.code})`, {
      log: logFile,
    });
  }
}

// ---------------------------------------------------------------- Python virtualenvs

let pythonPromise;

/** A Python 3.9+ interpreter: $INFRA_PYTHON, else python3.11, python3, python. */
export function findPython() {
  pythonPromise ??= (async () => {
    const candidates = process.env.INFRA_PYTHON
      ? [process.env.INFRA_PYTHON]
      : ['python3.11', 'python3', 'python'];
    for (const candidate of candidates) {
      const { code, stdout } = await capture(candidate, [
        '-c',
        'import sys; print("%d.%d.%d" % sys.version_info[:3]); print(sys.executable)',
      ]);
      if (code !== 0) continue;
      const [version, executable] = stdout.trim().split('\n');
      const [major, minor] = version.split('.').map(Number);
      if (major === 3 && minor >= 9) return { command: candidate, version, executable };
    }
    throw new Error(`no Python 3.9+ found (tried ${candidates.join(', ')}; set INFRA_PYTHON to choose one)`);
  })();
  return pythonPromise;
}

export function venvPath(name) {
  return join(VENV_DIR, name);
}

export function venvBin(name, command) {
  return join(venvPath(name), 'bin', command);
}

/**
 * A virtualenv at test-infra/.venv/<name> with `requirements` installed. A stamp file holds a
 * hash of the requirements, the pip arguments and the Python version: when it matches, nothing
 * is done; when it does not (or an install was interrupted), the venv is built anew.
 */
export async function ensureVenv(service, name, { requirements, pipArgs = [] }) {
  const python = await findPython().catch((error) => {
    throw new InfraError(service, error.message);
  });
  const dir = venvPath(name);
  const stampFile = join(dir, '.infra-stamp');
  const stamp = createHash('sha256')
    .update(readFileSync(requirements))
    .update(JSON.stringify(pipArgs))
    .update(python.version)
    .digest('hex');
  if (
    existsSync(stampFile) &&
    readFileSync(stampFile, 'utf8').trim() === stamp &&
    existsSync(venvBin(name, 'python'))
  ) {
    step(service, `virtualenv .venv/${name} is up to date`);
    return dir;
  }
  mkdirSync(INSTALL_LOG_DIR, { recursive: true });
  const logFile = join(INSTALL_LOG_DIR, `pip-${name}.log`);
  writeFileSync(logFile, '');
  rmSync(dir, { recursive: true, force: true });
  step(service, `creating virtualenv .venv/${name} with Python ${python.version} (log ${logFile})`);
  let result = await runLogged(python.command, ['-m', 'venv', dir], { logFile });
  if (
    result.code !== 0 &&
    readFileSync(logFile, 'utf8').includes('ensurepip') &&
    python.executable.startsWith('/usr/')
  ) {
    // Debian's own Python has venv without ensurepip until python3-venv is installed.
    rmSync(dir, { recursive: true, force: true });
    await aptInstall(service, ['python3-venv']);
    result = await runLogged(python.command, ['-m', 'venv', dir], { logFile });
  }
  if (result.code !== 0) throw new InfraError(service, 'python -m venv failed', { log: logFile });
  step(service, `pip install -r requirements/${requirements.split('/').pop()} into .venv/${name}`);
  const env = { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: '1', PIP_NO_INPUT: '1' };
  result = await runLogged(
    venvBin(name, 'python'),
    ['-m', 'pip', 'install', '--no-compile', '--prefer-binary', ...pipArgs, '-r', requirements],
    { env, logFile },
  );
  if (result.code !== 0) {
    throw new InfraError(service, `pip install into .venv/${name} failed (exit ${result.code})`, {
      log: logFile,
    });
  }
  writeFileSync(stampFile, `${stamp}\n`);
  step(service, `virtualenv .venv/${name} ready`);
  return dir;
}
