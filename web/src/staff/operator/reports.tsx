// The operators' reports, drawn and tabled, each downloadable as CSV (the API's format=csv): coverage by municipality
// against the targets (at least 5 % of children 5-18 with a funded certificate; 25 % in the target model), spending by
// направленность and by provider (spent, under objection, reversed), the quota used, the money expired at the last
// rollover. The figures are counters a stream consumer keeps: they trail the data by its delay ("as of" says when
// they last moved), so the page can be refreshed.
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { api, ok, Refusal, type Schemas } from "../../api";
import { Failure, Loading, PageTitle, useAction, useLoad } from "../../components";
import { DIRECTIONS, money, municipalityName } from "../../format";
import { href } from "../../router";
import { useSession } from "../../session";
import { BarChart, type ChartRow, percent } from "../charts";
import { type Column, DataTable, downloadCsv, isRegional, MunicipalityFilter } from "../common";

type CoverageRow = Schemas["CoverageRowOut"];
type Spending = Schemas["SpendingOut"];
type SpendingRow = Schemas["SpendingRowOut"];
type QuotaRow = Schemas["QuotaRowOut"];
type ExpiryRow = Schemas["ExpiryRowOut"];

/** Targets of the share of children 5-18 with a funded certificate. */
export const COVERAGE_TARGETS = [
  { value: 0.05, label: "Минимум 5 %", tone: "minimum" },
  { value: 0.25, label: "Целевая модель 25 %", tone: "goal" },
];

/** A report's JSON (the routes answer CSV too: the document types the body as either). */
async function json<T extends object>(call: Promise<{ data?: T | string; error?: unknown; response: Response }>): Promise<T> {
  const data = await ok(call);
  if (typeof data === "string") throw new Refusal(406, "not_acceptable", "expected JSON");
  return data;
}

interface Scope {
  period_id?: string;
  municipality?: string;
}

function stamp(asOf: string | null | undefined): string {
  if (!asOf) return "данных ещё нет";
  return `данные на ${new Date(asOf).toLocaleString("ru-RU", { day: "numeric", month: "long", hour: "2-digit", minute: "2-digit" })}`;
}

function Csv({ label, fetch: get, name }: { label: string; fetch: () => Promise<{ data?: unknown; error?: unknown; response: Response }>; name: string }) {
  const download = useAction(async () => downloadCsv(get(), name));
  return (
    <>
      <Failure failure={download.failure} retry={() => void download.run()} />
      <button
        type="button"
        class="button button-secondary"
        onClick={() => void download.run()}
        disabled={download.busy}
        aria-busy={download.busy}
        aria-label={`Скачать CSV: ${label}`}
      >
        Скачать CSV
      </button>
    </>
  );
}

function Section({ id, title, children, csv }: { id: string; title: string; children: ComponentChildren; csv: ComponentChildren }) {
  return (
    <section class="panel report" aria-labelledby={`${id}-heading`} data-report={id}>
      <div class="report-head">
        <h2 id={`${id}-heading`}>{title}</h2>
        {csv}
      </div>
      {children}
    </section>
  );
}

// --- coverage ----------------------------------------------------------------------------------------------------

function CoverageReport({ scope, names }: { scope: Scope; names: Record<string, string> }) {
  const report = useLoad(() => json(api().GET("/reports/coverage", { params: { query: scope } })), [scope.period_id, scope.municipality]);
  const r = report.data;
  const rows = r ? (r.municipalities.length > 1 ? [...r.municipalities, r as CoverageRow] : r.municipalities) : [];
  const name = (m: string) => (m === "*" ? "Весь регион" : municipalityName(names, m));
  const chartRows: ChartRow[] = rows.map((row) => ({
    key: row.municipality,
    label: name(row.municipality),
    bars: [
      { parts: [{ value: row.shares.funded ?? 0, tone: "funded", name: "С сертификатом финансирования" }], text: percent(row.shares.funded) },
      {
        parts: [{ value: row.shares.with_active_contract ?? 0, tone: "active", name: "Занимаются по сертификату" }],
        text: percent(row.shares.with_active_contract),
      },
    ],
    ...(row.children_population === null ? { note: "численность детей не задана" } : {}),
  }));
  const known = rows.filter((row) => row.shares.funded !== null);
  const top = Math.max(0.3, ...known.map((row) => (row.shares.funded ?? 0) * 1.1));
  const below = known.filter((row) => (row.shares.funded ?? 0) < 0.05).map((row) => name(row.municipality));
  const summary = known.length
    ? `Доля детей с сертификатом финансирования: ${known.map((row) => `${name(row.municipality)} ${percent(row.shares.funded)}`).join("; ")}. ${below.length ? `Ниже минимума 5 %: ${below.join(", ")}.` : "Все выше минимума 5 %."}`
    : "Численность детей не задана: доли не считаются.";
  const columns: Column<CoverageRow>[] = [
    { label: "Муниципалитет", head: true, cell: (row) => name(row.municipality) },
    { label: "Детей 5–18 лет", num: true, cell: (row) => row.children_population?.toLocaleString("ru-RU") ?? "—" },
    { label: "Сертификатов", num: true, cell: (row) => row.certificates.toLocaleString("ru-RU") },
    { label: "Финансирования", num: true, cell: (row) => row.funded.toLocaleString("ru-RU") },
    { label: "Доля с финансированием", num: true, cell: (row) => percent(row.shares.funded) },
    { label: "С договором", num: true, cell: (row) => row.with_active_contract.toLocaleString("ru-RU") },
    { label: "Доля занимающихся", num: true, cell: (row) => percent(row.shares.with_active_contract) },
  ];
  return (
    <Section
      id="coverage"
      title="Охват детей сертификатами"
      csv={<Csv label="охват" name={`coverage-${r?.period_id ?? "period"}.csv`} fetch={() => api().GET("/reports/coverage", { params: { query: { ...scope, format: "csv" } }, parseAs: "blob" })} />}
    >
      <Failure failure={report.failure} retry={report.reload} />
      {!r && report.loading && <Loading />}
      {r && (
        <>
          <p class="muted small">
            Период {r.period_id}, {stamp(r.as_of)}. Доли — от численности детей 5–18 лет, которую задаёт оператор (
            <a href={href.operator("periods")}>Периоды</a>).
          </p>
          {known.length > 0 ? (
            <BarChart
              id="coverage-chart"
              title="Доля детей с сертификатом финансирования и занимающихся по нему"
              summary={summary}
              rows={chartRows}
              max={top}
              targets={COVERAGE_TARGETS}
            />
          ) : (
            <p class="notice">
              Доли охвата не считаются: не задана численность детей 5–18 лет. Задайте её в разделе{" "}
              <a href={href.operator("periods")}>«Периоды»</a>.
            </p>
          )}
          <DataTable caption="Охват по муниципалитетам" columns={columns} rows={rows} rowKey={(row) => row.municipality} />
        </>
      )}
    </Section>
  );
}

// --- spending ----------------------------------------------------------------------------------------------------

function spendingRows(report: Spending, label: (row: SpendingRow) => string): ChartRow[] {
  return report.rows.map((row) => ({
    key: row.key,
    label: label(row),
    bars: [
      {
        parts: [
          { value: row.spent_kopecks - row.disputed_kopecks, tone: "spent", name: "Оплачено" },
          { value: row.disputed_kopecks, tone: "disputed", name: "Оспаривается" },
          { value: row.reversed_kopecks, tone: "reversed", name: "Возвращено по претензиям" },
        ],
        text: money(row.spent_kopecks),
      },
    ],
  }));
}

function SpendingReport({ scope, by }: { scope: Scope; by: "direction" | "provider" }) {
  const report = useLoad(
    () => json(api().GET("/reports/spending", { params: { query: { ...scope, group_by: by } } })),
    [scope.period_id, scope.municipality, by],
  );
  const r = report.data;
  const label = (row: SpendingRow) => (by === "direction" ? (DIRECTIONS[row.key] ?? row.label) : row.label);
  const rows = r ? [...r.rows].sort((a, b) => b.charged_kopecks - a.charged_kopecks) : [];
  const title = by === "direction" ? "Расходы по направленностям" : "Расходы по поставщикам";
  const columns: Column<SpendingRow>[] = [
    { label: by === "direction" ? "Направленность" : "Поставщик", head: true, cell: label },
    { label: "Списаний", num: true, cell: (row) => row.charges },
    { label: "Списано", num: true, cell: (row) => money(row.charged_kopecks) },
    { label: "Возвращено", num: true, cell: (row) => money(row.reversed_kopecks) },
    { label: "Израсходовано", num: true, cell: (row) => money(row.spent_kopecks) },
    { label: "Оспаривается", num: true, cell: (row) => money(row.disputed_kopecks) },
  ];
  return (
    <Section
      id={`spending-${by}`}
      title={title}
      csv={
        <Csv
          label={title.toLowerCase()}
          name={`spending-by-${by}-${r?.period_id ?? "period"}.csv`}
          fetch={() => api().GET("/reports/spending", { params: { query: { ...scope, group_by: by, format: "csv" } }, parseAs: "blob" })}
        />
      }
    >
      <Failure failure={report.failure} retry={report.reload} />
      {!r && report.loading && <Loading />}
      {r && rows.length === 0 && <p>Списаний в этом периоде ещё нет ({stamp(r.as_of)}).</p>}
      {r && rows.length > 0 && (
        <>
          <p class="muted small">
            Период {r.period_id}, {stamp(r.as_of)}. Всего израсходовано <strong data-testid={`spent-${by}`}>{money(r.total.spent_kopecks)}</strong>
            {r.total.disputed_kopecks > 0 && `, из них оспаривается ${money(r.total.disputed_kopecks)}`}
            {r.total.reversed_kopecks > 0 && `, возвращено по претензиям ${money(r.total.reversed_kopecks)}`}.
          </p>
          <BarChart
            id={`spending-${by}-chart`}
            title="Израсходовано: оплачено, оспаривается, возвращено по претензиям"
            summary={rows.map((row) => `${label(row)}: ${money(row.spent_kopecks)}`).join("; ")}
            rows={spendingRows({ ...r, rows }, label)}
            max={Math.max(...rows.map((row) => row.charged_kopecks))}
          />
          <DataTable
            caption={title}
            columns={columns}
            rows={rows}
            rowKey={(row) => row.key}
            foot={
              <tfoot>
                <tr>
                  <th scope="row">Итого</th>
                  <td class="num" data-label="Списаний">{r.total.charges}</td>
                  <td class="num" data-label="Списано">{money(r.total.charged_kopecks)}</td>
                  <td class="num" data-label="Возвращено">{money(r.total.reversed_kopecks)}</td>
                  <td class="num" data-label="Израсходовано">{money(r.total.spent_kopecks)}</td>
                  <td class="num" data-label="Оспаривается">{money(r.total.disputed_kopecks)}</td>
                </tr>
              </tfoot>
            }
          />
        </>
      )}
    </Section>
  );
}

// --- quota and expired ---------------------------------------------------------------------------------------------

function QuotaReport({ scope, names }: { scope: Scope; names: Record<string, string> }) {
  const report = useLoad(() => json(api().GET("/reports/quota", { params: { query: scope } })), [scope.period_id, scope.municipality]);
  const r = report.data;
  const rows = r?.municipalities ?? [];
  const name = (m: string) => municipalityName(names, m);
  const columns: Column<QuotaRow>[] = [
    { label: "Муниципалитет", head: true, cell: (row) => name(row.municipality) },
    { label: "Лимит", num: true, cell: (row) => row.quota.toLocaleString("ru-RU") },
    { label: "Выдано", num: true, cell: (row) => row.funded.toLocaleString("ru-RU") },
    { label: "Осталось", num: true, cell: (row) => row.remaining.toLocaleString("ru-RU") },
    { label: "Использовано", num: true, cell: (row) => percent(row.share_used) },
  ];
  return (
    <Section
      id="quota"
      title="Использование лимитов"
      csv={<Csv label="лимиты" name={`quota-${r?.period_id ?? "period"}.csv`} fetch={() => api().GET("/reports/quota", { params: { query: { ...scope, format: "csv" } }, parseAs: "blob" })} />}
    >
      <Failure failure={report.failure} retry={report.reload} />
      {!r && report.loading && <Loading />}
      {r && (
        <>
          <p class="muted small">
            Период {r.period_id}: выдано {r.funded.toLocaleString("ru-RU")} сертификатов финансирования из {r.quota.toLocaleString("ru-RU")} ({percent(r.share_used)}).
          </p>
          <BarChart
            id="quota-chart"
            title="Доля лимита сертификатов финансирования, которая уже выдана"
            summary={rows.map((row) => `${name(row.municipality)}: ${row.funded} из ${row.quota}`).join("; ")}
            rows={rows.map((row) => ({
              key: row.municipality,
              label: name(row.municipality),
              bars: [{ parts: [{ value: row.share_used ?? 0, tone: row.remaining === 0 ? "full" : "funded", name: row.remaining === 0 ? "Лимит исчерпан" : "Выдано" }], text: `${row.funded} из ${row.quota}` }],
            }))}
            max={1}
          />
          <DataTable caption="Лимиты по муниципалитетам" columns={columns} rows={rows} rowKey={(row) => row.municipality} />
        </>
      )}
    </Section>
  );
}

function ExpiredReport({ scope, names }: { scope: Scope; names: Record<string, string> }) {
  const report = useLoad(() => json(api().GET("/reports/expired", { params: { query: scope } })), [scope.period_id, scope.municipality]);
  const r = report.data;
  const rows = r?.municipalities ?? [];
  const name = (m: string) => municipalityName(names, m);
  const columns: Column<ExpiryRow>[] = [
    { label: "Муниципалитет", head: true, cell: (row) => name(row.municipality) },
    { label: "Сертификатов", num: true, cell: (row) => row.expired_certificates.toLocaleString("ru-RU") },
    { label: "Сгорело", num: true, cell: (row) => money(row.expired_kopecks) },
  ];
  return (
    <Section
      id="expired"
      title="Сгоревшие остатки"
      csv={<Csv label="сгоревшие остатки" name={`expired-${r?.expired_period_id ?? "none"}.csv`} fetch={() => api().GET("/reports/expired", { params: { query: { ...scope, format: "csv" } }, parseAs: "blob" })} />}
    >
      <Failure failure={report.failure} retry={report.reload} />
      {!r && report.loading && <Loading />}
      {r && !r.expired_period_id && <p>Переходов между периодами ещё не было: ничего не сгорало.</p>}
      {r?.expired_period_id && (
        <>
          <p class="muted small">
            В конце периода {r.expired_period_id} сгорело {money(r.expired_kopecks)} на {r.expired_certificates.toLocaleString("ru-RU")} сертификатах.
          </p>
          {rows.length > 0 && (
            <>
              <BarChart
                id="expired-chart"
                title={`Сгорело в конце периода ${r.expired_period_id}`}
                summary={rows.map((row) => `${name(row.municipality)}: ${money(row.expired_kopecks)}`).join("; ")}
                rows={rows.map((row) => ({
                  key: row.municipality,
                  label: name(row.municipality),
                  bars: [{ parts: [{ value: row.expired_kopecks, tone: "expired", name: "Сгорело" }], text: money(row.expired_kopecks) }],
                }))}
                max={Math.max(...rows.map((row) => row.expired_kopecks))}
              />
              <DataTable caption="Сгоревшие остатки по муниципалитетам" columns={columns} rows={rows} rowKey={(row) => row.municipality} />
            </>
          )}
        </>
      )}
    </Section>
  );
}

// --- the page ------------------------------------------------------------------------------------------------------

export function ReportsPage() {
  const { config, person } = useSession();
  const [periodId, setPeriodId] = useState("");
  const [municipality, setMunicipality] = useState("");
  const [round, setRound] = useState(0);
  const scope: Scope = {};
  if (periodId.trim()) scope.period_id = periodId.trim();
  if (isRegional(person)) scope.municipality = municipality || "*";
  const key = `${scope.period_id ?? ""}|${scope.municipality ?? ""}|${round}`;
  return (
    <section>
      <PageTitle>Отчёты</PageTitle>
      <form
        class="filters filters-compact toolbar"
        onSubmit={(event) => {
          event.preventDefault();
          setRound((n) => n + 1);
        }}
      >
        <div class="field">
          <label for="report-period">Период</label>
          <input
            id="report-period"
            maxLength={32}
            placeholder="текущий"
            value={periodId}
            onChange={(e) => setPeriodId(e.currentTarget.value)}
          />
        </div>
        <MunicipalityFilter value={municipality} onChange={setMunicipality} all="Весь регион" />
        <div class="actions">
          <button type="submit" class="button button-secondary">
            Обновить
          </button>
        </div>
      </form>
      <div key={key} class="reports">
        <CoverageReport scope={scope} names={config.municipalities} />
        <SpendingReport scope={scope} by="direction" />
        <SpendingReport scope={scope} by="provider" />
        <QuotaReport scope={scope} names={config.municipalities} />
        <ExpiredReport scope={scope} names={config.municipalities} />
      </div>
    </section>
  );
}
