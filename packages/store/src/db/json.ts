/** The one place JSON columns are written and read (text on SQLite; jsonb later on PostgreSQL). */
export function toJsonColumn(value: unknown): string {
  return JSON.stringify(value);
}

export function fromJsonColumn<T>(text: string): T {
  return JSON.parse(text) as T;
}
