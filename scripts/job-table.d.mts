// scripts/job-table.d.mts: the types of scripts/job-table.mjs, for the tests that import it.
export interface JobTable {
  readonly names: string[];
  readonly families: string[];
  readonly layout: { readonly ints: number; readonly floats: number };
  readonly digest: number;
}
export function loadJobTable(root: string): Promise<JobTable>;
export function jobTableSource(table: JobTable): string;
