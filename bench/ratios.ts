/**
 * The bench table's rows from the cases' results: each row's ratio against its case's
 * `compareTo` (PyTorch at equal threads) or else its group's reference, the ratio against the
 * group's reference in groups compared at equal threads, and per such group our fastest row.
 * Pure (no timing, no printing), so that bench/ratios.test.ts checks it on hand-made numbers.
 */
import type { BenchCase, BenchResult } from "./cases/types";

/** One printed (and saved) table row. */
export interface Row {
  name: string;
  group: string;
  /** Threads the row computed with (reported by the run, else its case's), null when not stated. */
  threads: number | null;
  seconds: number | null;
  /** seconds / the seconds of row `ratioTo`. */
  ratio: number | null;
  /** The row the ratio is against: the case's compareTo, else the group's reference. */
  ratioTo: string | null;
  /** seconds / the group reference's seconds, in groups compared at equal threads (else null). */
  vsReference: number | null;
  notes: string;
}

/** A group compared at equal threads: its reference (PyTorch's default) and our fastest row. */
export interface GroupSummary {
  group: string;
  reference: string | null;
  referenceThreads: number | null;
  best: { name: string; seconds: number; threads: number | null; vsReference: number | null } | null;
}

/**
 * Throws when two cases share a name or a compareTo names no case of its own group (a typo
 * would silently drop a ratio).
 */
export function checkCases(all: BenchCase[]): void {
  const names = new Set<string>();
  for (const c of all) {
    if (names.has(c.name)) throw new Error(`bench: two cases are named ${JSON.stringify(c.name)}`);
    names.add(c.name);
  }
  for (const c of all) {
    if (c.compareTo === undefined) continue;
    const target = all.find((t) => t.name === c.compareTo);
    if (target?.group !== c.group) {
      throw new Error(`bench: case ${JSON.stringify(c.name)} has compareTo ${JSON.stringify(c.compareTo)}, ` +
        "which is no case of its group");
    }
  }
}

/** Groups with a case compared at equal threads (they get the second ratio and a best-ours line). */
export function threadGroups(cases: BenchCase[]): Set<string> {
  return new Set(cases.filter((c) => c.compareTo !== undefined).map((c) => c.group));
}

/**
 * The rows of `cases` (in order) from their fastest results; a case without a result is shown
 * as skipped with its reason. `repeats` notes ("best of 3") come from the cases.
 */
export function tableRows(
  cases: BenchCase[], results: Map<BenchCase, BenchResult>, skipped: Map<BenchCase, string>,
): Row[] {
  const rows: Row[] = cases.map((c) => {
    const r = results.get(c);
    const repeats = Math.max(1, c.repeats ?? 1);
    const base = { name: c.name, group: c.group, ratio: null, ratioTo: null, vsReference: null };
    if (r === undefined) {
      return { ...base, threads: c.threads ?? null, seconds: null, notes: `skipped: ${skipped.get(c) ?? "no result"}` };
    }
    const notes = [repeats > 1 ? `best of ${repeats}` : "", r.notes ?? ""].filter((n) => n !== "").join("; ");
    return { ...base, threads: r.threads ?? c.threads ?? null, seconds: r.seconds, notes };
  });
  const rowOf = (name: string | undefined) => rows.find((r) => r.name === name);
  const split = threadGroups(cases);
  cases.forEach((c, i) => {
    const row = rows[i];
    const ref = cases.find((g) => g.group === row.group && g.reference);
    const against = rowOf(c.compareTo ?? ref?.name);
    row.ratioTo = against?.name ?? null;
    if (row.seconds !== null && against?.seconds) row.ratio = row.seconds / against.seconds;
    const refRow = rowOf(ref?.name);
    if (split.has(row.group) && row.seconds !== null && refRow?.seconds) {
      row.vsReference = row.seconds / refRow.seconds;
    }
  });
  return rows;
}

/** Per group compared at equal threads: its reference row and the fastest of its `ours` rows. */
export function groupSummaries(cases: BenchCase[], rows: Row[]): GroupSummary[] {
  const rowOf = (name: string | undefined) => rows.find((r) => r.name === name);
  return [...threadGroups(cases)].map((group) => {
    const refRow = rowOf(cases.find((c) => c.group === group && c.reference)?.name);
    const ours = cases.filter((c) => c.group === group && c.ours).map((c) => rowOf(c.name))
      .filter((r): r is Row => r !== undefined && r.seconds !== null);
    const fastest = ours.reduce<Row | null>((a, r) => (a === null || r.seconds! < a.seconds! ? r : a), null);
    return {
      group,
      reference: refRow?.name ?? null,
      referenceThreads: refRow?.threads ?? null,
      best: fastest && {
        name: fastest.name, seconds: fastest.seconds!, threads: fastest.threads, vsReference: fastest.vsReference,
      },
    };
  });
}
