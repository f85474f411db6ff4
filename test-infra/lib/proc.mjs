// Processes that `up` starts: each in its own session and process group (spawn with
// detached), its output in a log file, its pid in a pid file. `down` stops exactly those
// groups. A pid alone could have been reused by an unrelated process since `up`, so the
// state also records the kernel's start time of the process and both must match.
import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  writeFileSync,
} from 'node:fs';
import { sleep } from './wait.mjs';

const HAS_PROC = existsSync('/proc/self/stat');

/** { state, pgrp, startTime } of a live (non-zombie) process, or null. */
export function procInfo(pid) {
  if (!Number.isInteger(pid) || pid <= 0) return null;
  if (!HAS_PROC) {
    try {
      process.kill(pid, 0);
      return { state: 'R', pgrp: pid, startTime: null };
    } catch {
      return null;
    }
  }
  let stat;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) may hold spaces and parentheses: split after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  if (state === 'Z' || state === 'X') return null;
  return { state, pgrp: Number(fields[2]), startTime: fields[19] };
}

/** True when the process recorded in `state` (pid + start time) is still the one running. */
export function isRunning(state) {
  if (!state?.pid) return false;
  const info = procInfo(state.pid);
  if (!info) return false;
  return state.startTime == null || info.startTime == null || info.startTime === state.startTime;
}

/** Live members of a process group (Linux: read from /proc; elsewhere: the leader only). */
export function groupMembers(pgid) {
  if (!HAS_PROC) {
    try {
      process.kill(-pgid, 0);
      return [pgid];
    } catch {
      return [];
    }
  }
  const members = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const info = procInfo(Number(entry));
    if (info && info.pgrp === pgid) members.push(Number(entry));
  }
  return members;
}

/**
 * Starts `command` detached (its own session and process group), stdout and stderr
 * appended to `logFile`, and writes its pid to `pidFile`.
 */
export function startDetached(command, args, { env, cwd, logFile, pidFile }) {
  const fd = openSync(logFile, 'a');
  let child;
  try {
    child = spawn(command, args, { cwd, env, detached: true, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  return new Promise((resolve, reject) => {
    child.once('error', (error) => reject(new Error(`cannot start ${command}: ${error.message}`)));
    child.once('spawn', () => {
      child.unref();
      writeFileSync(pidFile, `${child.pid}\n`);
      const info = procInfo(child.pid);
      resolve({ pid: child.pid, pgid: child.pid, startTime: info?.startTime ?? null, child });
    });
  });
}

/**
 * Stops a process group: SIGTERM, wait up to `graceMs`, then SIGKILL and wait again.
 * Only called for a group whose leader `isRunning` confirmed, or for leftovers of it.
 * Returns the pids that were still alive when it gave up (normally none).
 */
export async function stopGroup(pgid, { graceMs = 10_000 } = {}) {
  const signal = (sig) => {
    try {
      process.kill(-pgid, sig);
    } catch {
      // the group is already gone
    }
  };
  if (groupMembers(pgid).length === 0) return [];
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (groupMembers(pgid).length === 0) return [];
    await sleep(100);
  }
  signal('SIGKILL');
  const killDeadline = Date.now() + 5_000;
  while (Date.now() < killDeadline) {
    const left = groupMembers(pgid);
    if (left.length === 0) return [];
    await sleep(100);
  }
  return groupMembers(pgid);
}

/** Runs a command to completion, output appended to `logFile`; resolves { code, signal }. */
export function runLogged(command, args, { env, cwd, logFile }) {
  const fd = openSync(logFile, 'a');
  writeFileSync(fd, `\n$ ${command} ${args.join(' ')}\n`);
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', fd, fd] });
    child.once('error', (error) => {
      closeSync(fd);
      resolve({ code: 127, signal: null, error });
    });
    child.once('close', (code, signal) => {
      closeSync(fd);
      resolve({ code, signal });
    });
  });
}

/**
 * Runs a command and captures its output (for short commands: versions, probes). The timeout
 * is our own timer, cleared whatever happens: spawn's `timeout` option leaves its timer running
 * when the command cannot start (ENOENT), which kept a long-lived caller (vitest) from exiting.
 */
export function capture(command, args, { env, input, timeoutMs = 30_000 } = {}) {
  return new Promise((resolve) => {
    let child;
    try {
      child = spawn(command, args, { env, stdio: [input == null ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    } catch (error) {
      resolve({ code: 127, stdout: '', stderr: error.message });
      return;
    }
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    timer.unref();
    const finish = (result) => {
      clearTimeout(timer);
      resolve(result);
    };
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.once('error', (error) => finish({ code: 127, stdout, stderr: stderr + error.message }));
    child.once('close', (code) => finish({ code: code ?? 1, stdout, stderr }));
    if (child.stdin) {
      child.stdin.on('error', () => {}); // the command may exit before reading its input
      child.stdin.end(input);
    }
  });
}

/** Live processes whose command line mentions `text` (e.g. gpg-agents of our GNUPGHOME). */
export function processesMentioning(text) {
  if (!HAS_PROC) return [];
  const found = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let cmdline;
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (
      cmdline.split('\0').some((arg) => arg === text || arg.startsWith(`${text}/`)) &&
      procInfo(Number(entry))
    ) {
      found.push(Number(entry));
    }
  }
  return found;
}

/**
 * Live processes whose working directory is inside `dir`. Every server `up` starts runs in
 * its data dir under .run/, so this finds ours even when their state files were lost.
 */
export function processesWithCwdUnder(dir) {
  if (!HAS_PROC) return [];
  const found = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let cwd;
    try {
      cwd = readlinkSync(`/proc/${entry}/cwd`).replace(/ \(deleted\)$/, '');
    } catch {
      continue;
    }
    if (cwd.startsWith(`${dir}/`) && procInfo(Number(entry))) found.push(Number(entry));
  }
  return found;
}
