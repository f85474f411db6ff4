import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';

/** Who stops the servers a test run started: the last test run to end, and never a user's. */
const runDir = mkdtempSync(join(tmpdir(), 'infra-test-runs-'));
process.env.INFRA_RUN_DIR = runDir;
const { claimForUser, joinTestRun, leaveTestRun, stopWhenTestsEnd } = await import('../lib/test-runs.mjs');
const file = join(runDir, 'test-runs.json');

/** Another live process recorded as a test run; kill() ends it. */
async function otherRun() {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
  await new Promise((done) => child.once('spawn', done));
  const data = JSON.parse(readFileSync(file, 'utf8'));
  data.runs.push({ pid: child.pid, startTime: null });
  writeFileSync(file, JSON.stringify(data));
  return {
    kill: () => new Promise((done) => child.once('exit', done).kill('SIGKILL')),
  };
}

beforeEach(() => rmSync(file, { force: true }));
afterAll(() => rmSync(runDir, { recursive: true, force: true }));

describe('test-infra test runs', () => {
  it('the last test run to end stops what test runs started', () => {
    joinTestRun();
    expect(stopWhenTestsEnd(['redis', 'kms'])).toEqual(['redis', 'kms']);
    expect(stopWhenTestsEnd(['redis'])).toEqual([]);
    expect(leaveTestRun()).toEqual(['redis', 'kms']);
    expect(leaveTestRun()).toEqual([]);
  });

  it('while another test run is alive nothing stops; once it is gone, the next to end stops them', async () => {
    joinTestRun();
    stopWhenTestsEnd(['vault']);
    const other = await otherRun();
    expect(leaveTestRun()).toEqual([]);
    await other.kill();
    joinTestRun();
    expect(leaveTestRun()).toEqual(['vault']);
  });

  it('a service brought up or down by hand is the user’s: no test run stops it', () => {
    joinTestRun();
    stopWhenTestsEnd(['redis', 'gpg']);
    claimForUser(['redis']);
    expect(leaveTestRun()).toEqual(['gpg']);
  });
});
