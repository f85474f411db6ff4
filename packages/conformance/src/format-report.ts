import type { ConformanceReport, ConformanceResult, Requirement } from './types.js';

const MARK: Record<ConformanceResult['status'], string> = { passed: 'pass', failed: 'FAIL', skipped: 'skip' };

export interface RequirementSummary {
  /** A capability, 'key', 'keystore' or 'unreachable'; 'wrap' for tests that need only wrap and unwrap. */
  readonly requirement: Requirement | 'wrap';
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
}

/** Counts per requirement: a test counts for each thing it requires ('wrap' when it requires nothing more). */
export function summarizeByRequirement(report: ConformanceReport): RequirementSummary[] {
  const rows = new Map<Requirement | 'wrap', { passed: number; failed: number; skipped: number }>();
  for (const result of report.results) {
    const keys: (Requirement | 'wrap')[] = result.requires.length === 0 ? ['wrap'] : [...result.requires];
    for (const key of keys) {
      const row = rows.get(key) ?? { passed: 0, failed: 0, skipped: 0 };
      row[result.status]++;
      rows.set(key, row);
    }
  }
  return [...rows].map(([requirement, counts]) => ({ requirement, ...counts }));
}

/** A plain-text report: one line per test, then a table per requirement, then the totals. */
export function formatConformanceReport(report: ConformanceReport): string {
  const lines: string[] = [];
  lines.push(`conformance of the ${report.provider ?? 'unknown'} provider`);
  for (const r of report.results) {
    const reason = r.reason === undefined ? '' : `: ${r.reason}`;
    lines.push(`  ${MARK[r.status]}  ${r.group}: ${r.name} (${r.durationMs} ms)${reason}`);
  }
  lines.push('');
  const summary = summarizeByRequirement(report);
  const width = Math.max(11, ...summary.map((s) => s.requirement.length));
  lines.push(`  ${'requirement'.padEnd(width)}  passed  failed  skipped`);
  for (const s of summary) {
    lines.push(
      `  ${s.requirement.padEnd(width)}  ${String(s.passed).padStart(6)}  ${String(s.failed).padStart(6)}  ${String(s.skipped).padStart(7)}`,
    );
  }
  lines.push('');
  lines.push(
    `${report.ok ? 'OK' : 'FAILED'}: ${report.passed} passed, ${report.failed} failed, ${report.skipped} skipped in ${report.durationMs} ms`,
  );
  return lines.join('\n');
}
