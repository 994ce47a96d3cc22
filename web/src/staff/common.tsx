// What the providers' and operators' pages share: tables that read as cards on a phone, filters, a reason form,
// money typed in roubles, the cursor pages of the API followed to the end, one call per municipality for the regional
// operator, and the Russian words for the registry's statuses.
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { Refusal, type Schemas } from "../api";
import type { Who } from "../auth";
import { Failure, useAction } from "../components";
import type { Config } from "../config";
import { save } from "../download";
import { municipalityName } from "../format";
import { useSession } from "../session";

export type Provider = Schemas["ProviderOut"];
export type ProgramOut = Schemas["ProgramOut"];
export type Document = Schemas["DocumentOut"];
export type Period = Schemas["PeriodOut"];

export const PROVIDER_STATUS: Record<string, string> = {
  applied: "Заявка на рассмотрении",
  approved: "В реестре",
  rejected: "Заявка отклонена",
  suspended: "Деятельность приостановлена",
};

export const PROVIDER_KIND: Record<string, string> = {
  organization: "Организация",
  entrepreneur: "Индивидуальный предприниматель",
};

export const DOCUMENT_KIND: Record<string, string> = {
  licence: "Лицензия",
  charter: "Устав",
  other: "Другой документ",
};

export const PROGRAM_STATUS: Record<string, string> = {
  draft: "Черновик",
  published: "Ждёт сертификации",
  certified: "Сертифицирована",
  closed: "Закрыта",
};

/** The status badges' colours (styles.css: .status-*) for the registry's words. */
export const STATUS_TONE: Record<string, string> = {
  applied: "requested",
  approved: "active",
  rejected: "declined",
  suspended: "frozen",
  draft: "draft",
  published: "requested",
  certified: "active",
  closed: "cancelled",
  open: "requested",
  upheld: "active",
  done: "active",
  running: "requested",
  not_started: "draft",
};

export function Status({ of, words }: { of: string; words: Record<string, string> }) {
  return <span class={`status status-${STATUS_TONE[of] ?? of}`}>{words[of] ?? of}</span>;
}

// --- a table that is a list of cards on a phone ----------------------------------------------------------------

export interface Column<T> {
  label: string;
  cell: (row: T) => ComponentChildren;
  /** Right-aligned, tabular figures. */
  num?: boolean;
  /** The row's title: on a phone, the card's first line, without its label. */
  head?: boolean;
  /** Running text (a reason): on a phone, the card's whole width. */
  wide?: boolean;
}

/** A table on a desktop; on a phone each row is a card whose cells carry their column's name (styles.css: .data). */
export function DataTable<T>({
  caption,
  columns,
  rows,
  rowKey,
  rowData,
  foot,
}: {
  caption: string;
  columns: Column<T>[];
  rows: T[];
  rowKey: (row: T) => string;
  rowData?: (row: T) => Record<string, string>;
  foot?: ComponentChildren;
}) {
  return (
    <div class="table-scroll" tabIndex={0} role="region" aria-label={caption}>
      <table class="data">
        <caption class="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            {columns.map((column) => (
              <th key={column.label} scope="col" class={column.num ? "num" : undefined}>
                {column.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={rowKey(row)} {...(rowData ? rowData(row) : {})}>
              {columns.map((column) => (
                <td
                  key={column.label}
                  data-label={column.head ? undefined : column.label}
                  class={[column.num ? "num" : "", column.head ? "head" : "", column.wide ? "wide" : ""].join(" ").trim() || undefined}
                >
                  {column.cell(row)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
        {foot}
      </table>
    </div>
  );
}

// --- filters ---------------------------------------------------------------------------------------------------------

/** One of a few values, as a row of toggle buttons (a tab strip that needs no tab semantics). */
export function Choice<V extends string>({
  label,
  value,
  options,
  onChange,
}: {
  label: string;
  value: V;
  options: readonly (readonly [V, string])[];
  onChange: (value: V) => void;
}) {
  return (
    <div class="choice-row" role="group" aria-label={label}>
      {options.map(([option, text]) => (
        <button
          key={option}
          type="button"
          class="chip"
          aria-pressed={option === value}
          onClick={() => onChange(option)}
        >
          {text}
        </button>
      ))}
    </div>
  );
}

/** The municipalities an operator sees: their own, or (the regional operator) every one of the region. */
export function municipalitiesOf(person: Who | null, config: Config): string[] {
  const own = person?.municipality;
  if (own && own !== "*") return [own];
  return Object.keys(config.municipalities);
}

export function isRegional(person: Who | null): boolean {
  return person?.role === "operator" && person.municipality === "*";
}

/** A regional operator's choice of municipality ("" is all of them); a municipal operator's is fixed. */
export function MunicipalityFilter({
  value,
  onChange,
  all = "Все муниципалитеты",
}: {
  value: string;
  onChange: (value: string) => void;
  all?: string | null;
}) {
  const { config, person } = useSession();
  if (!isRegional(person)) {
    return (
      <p class="muted">
        Муниципалитет: <strong>{municipalityName(config.municipalities, person?.municipality ?? "")}</strong>
      </p>
    );
  }
  return (
    <div class="field field-inline">
      <label for="filter-municipality">Муниципалитет</label>
      <select id="filter-municipality" value={value} onChange={(e) => onChange(e.currentTarget.value)}>
        {all !== null && <option value="">{all}</option>}
        {Object.entries(config.municipalities).map(([id, name]) => (
          <option key={id} value={id}>
            {name}
          </option>
        ))}
      </select>
    </div>
  );
}

/** ``load`` for each municipality the filter names (all the operator sees when it is ""), results in one list. */
export async function acrossMunicipalities<T>(
  person: Who | null,
  config: Config,
  chosen: string,
  load: (municipality: string) => Promise<T[]>,
): Promise<T[]> {
  const places = chosen ? [chosen] : municipalitiesOf(person, config);
  return (await Promise.all(places.map(load))).flat();
}

// --- pages of the API ------------------------------------------------------------------------------------------------

const MAX_PAGES = 20;

/** Every item of a cursor-paged listing (pages may be short, even empty, and still carry a cursor). */
export async function everything<T>(
  page: (cursor: string | null) => Promise<{ items: T[]; cursor: string | null }>,
): Promise<{ items: T[]; more: boolean }> {
  const items: T[] = [];
  let cursor: string | null = null;
  for (let n = 0; n < MAX_PAGES; n++) {
    const answer = await page(cursor);
    items.push(...answer.items);
    cursor = answer.cursor;
    if (cursor === null) return { items, more: false };
  }
  return { items, more: true };
}

/** A report as a file (``format=csv``, asked for with ``parseAs: "blob"``), saved under ``name``. */
export async function downloadCsv(
  call: Promise<{ data?: unknown; error?: unknown; response: Response }>,
  name: string,
): Promise<void> {
  const { data, error, response } = await call;
  if (!response.ok || !(data instanceof Blob)) {
    const body = (error ?? {}) as { error?: { code?: string; message?: string } };
    throw new Refusal(response.status, body.error?.code ?? `http_${response.status}`, body.error?.message ?? "");
  }
  save(data, name);
}

// --- forms -----------------------------------------------------------------------------------------------------------

/** Roubles as typed ("1 500", "1500,50") → kopecks, exactly (no floating point); null if it is not an amount. */
export function kopecksOf(text: string): number | null {
  const plain = text.replace(/[\s\u00a0₽]/g, "").replace(",", ".");
  const match = /^(\d{1,9})(?:\.(\d{1,2}))?$/.exec(plain);
  if (!match) return null;
  return Number(match[1]) * 100 + Number((match[2] ?? "").padEnd(2, "0"));
}

/** Kopecks as the roubles field shows them: "1500" or "1500,50". */
export function roublesText(kopecks: number): string {
  const cents = kopecks % 100;
  return cents === 0 ? String(kopecks / 100) : `${Math.floor(kopecks / 100)},${String(cents).padStart(2, "0")}`;
}

/** A reason an operator or a provider gives (a decision, a decline, a freeze), then the action; nothing is sent
 * without one when it is required. */
export function ReasonForm({
  id,
  label,
  submit,
  tone = "button",
  required = true,
  onSubmit,
  onCancel,
}: {
  id: string;
  label: string;
  submit: string;
  tone?: "button" | "button button-danger" | "button button-secondary";
  required?: boolean;
  onSubmit: (reason: string) => Promise<void>;
  onCancel?: () => void;
}) {
  const [reason, setReason] = useState("");
  const action = useAction(async () => {
    await onSubmit(reason.trim());
    setReason("");
  });
  return (
    <form
      class="inline-form"
      onSubmit={(event) => {
        event.preventDefault();
        if (!required || reason.trim()) void action.run();
      }}
    >
      <label for={id}>{label}</label>
      <textarea id={id} required={required} maxLength={500} value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
      <Failure failure={action.failure} retry={() => void action.run()} />
      <div class="actions">
        <button type="submit" class={tone} disabled={action.busy} aria-busy={action.busy}>
          {submit}
        </button>
        {onCancel && (
          <button type="button" class="button button-secondary" onClick={onCancel} disabled={action.busy}>
            Отмена
          </button>
        )}
      </div>
    </form>
  );
}

/** The current month in the region ("2026-12"): the date as the browser has it. */
export function thisMonth(): string {
  const now = new Date();
  return `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, "0")}`;
}

/** "2026-01".."2026-05" → every month between, inclusive. */
export function monthsBetween(from: string, to: string): string[] {
  const months: string[] = [];
  let [year, month] = from.split("-").map(Number) as [number, number];
  const [lastYear, lastMonth] = to.split("-").map(Number) as [number, number];
  while (year < lastYear || (year === lastYear && month <= lastMonth)) {
    months.push(`${year}-${String(month).padStart(2, "0")}`);
    month += 1;
    if (month > 12) {
      month = 1;
      year += 1;
    }
    if (months.length > 24) break;
  }
  return months;
}

/** 123456 bytes → "121 КБ". */
export function fileSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} Б`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} КБ`;
  return `${(bytes / 1024 / 1024).toFixed(1).replace(".", ",")} МБ`;
}
