// Plain aligned columns, like the bcc tools print; the last column runs free.

/** One column: its header and how a row shows in it (captures declare theirs). */
export interface TableColumn<Row> {
  header: string;
  value(row: Row): string;
  /** Right-align (numbers). */
  numeric?: boolean;
}

export function renderTable<Row>(columns: TableColumn<Row>[], rows: Row[]): string {
  const cells = rows.map((row) => columns.map((c) => c.value(row).replace(/[\r\n\t]/g, ' ')));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i]!.length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => (i === columns.length - 1 ? v : columns[i]!.numeric ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join('\n');
}
