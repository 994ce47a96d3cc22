// The certificate cabinet: the balance of the period as a bar (credited = available + held + spent + expired), every
// movement of the ledger (newest first, paged with the API's cursor), and the statement as CSV or PDF.
import { useState } from "preact/hooks";
import { api, type LedgerEntry, ok, Refusal } from "../api";
import { BalanceBar, Failure, Loading, PageTitle, useAction, useLoad } from "../components";
import { save } from "../download";
import { CERTIFICATE_STATUS, date, ENTRY_KIND, money, month, reason } from "../format";
import { href } from "../router";
import { useSession } from "../session";
import { NeedParent } from "./need-parent";

const LEDGER_PAGE = 10;
// Entries that take money off the available balance are shown with a minus.
const OUTGOING = new Set(["hold", "charge", "expire", "transfer_out"]);

function Statement({ id, periodId }: { id: string; periodId: string | null }) {
  const download = useAction(async (format: "csv" | "pdf") => {
    const accept = format === "pdf" ? "application/pdf" : "text/csv";
    const { data, response } = await api().GET("/certificates/{certificate_id}/statement", {
      params: { path: { certificate_id: id }, query: { format, ...(periodId ? { period_id: periodId } : {}) } },
      headers: { Accept: accept },
      parseAs: "blob",
    });
    if (!response.ok || !data) {
      const body = (await response.clone().json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
      throw new Refusal(response.status, body.error?.code ?? `http_${response.status}`, body.error?.message ?? "");
    }
    save(data, `vypiska-${id}-${periodId ?? "period"}.${format}`);
  });
  return (
    <section class="panel" aria-labelledby="statement-title">
      <h2 id="statement-title">Выписка за период</h2>
      <p class="muted">Все движения средств и итоги по сертификату.</p>
      <Failure failure={download.failure} retry={() => void download.run("csv")} />
      <div class="actions">
        <button type="button" class="button button-secondary" onClick={() => void download.run("csv")} disabled={download.busy}>
          Скачать CSV
        </button>
        <button type="button" class="button button-secondary" onClick={() => void download.run("pdf")} disabled={download.busy}>
          Скачать PDF
        </button>
      </div>
    </section>
  );
}

export function Ledger({ id }: { id: string }) {
  const [entries, setEntries] = useState<LedgerEntry[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const first = useLoad(async () => {
    const page = await ok(api().GET("/certificates/{certificate_id}/ledger", { params: { path: { certificate_id: id }, query: { limit: LEDGER_PAGE } } }));
    setEntries(page.entries);
    setCursor(page.cursor);
    return page;
  }, [id]);
  const more = useAction(async () => {
    if (!cursor) return;
    const page = await ok(
      api().GET("/certificates/{certificate_id}/ledger", { params: { path: { certificate_id: id }, query: { limit: LEDGER_PAGE, cursor } } }),
    );
    setEntries((shown) => [...(shown ?? []), ...page.entries]);
    setCursor(page.cursor);
  });
  return (
    <section class="panel" aria-labelledby="ledger-title">
      <h2 id="ledger-title">Движение средств</h2>
      <Failure failure={first.failure} retry={first.reload} />
      {!entries && first.loading && <Loading />}
      {entries && entries.length === 0 && <p>Движений по сертификату пока не было.</p>}
      {entries && entries.length > 0 && (
        <div class="table-scroll" tabIndex={0} role="region" aria-labelledby="ledger-title">
          <table class="ledger">
            <caption class="visually-hidden">Операции по сертификату, сначала новые</caption>
            <thead>
              <tr>
                <th scope="col">Дата</th>
                <th scope="col">Операция</th>
                <th scope="col" class="num">
                  Сумма
                </th>
              </tr>
            </thead>
            <tbody>
              {entries.map((entry) => (
                <tr key={entry.key} data-kind={entry.kind}>
                  <td>{date(entry.posted_at)}</td>
                  <td>
                    {ENTRY_KIND[entry.kind] ?? entry.kind}
                    {entry.month && <span class="muted"> за {month(entry.month)}</span>}
                    {entry.contract_id && <span class="muted small"> · договор № {entry.contract_id}</span>}
                    {entry.reason && <span class="muted small"> · {reason(entry.reason)}</span>}
                  </td>
                  <td class={`num ${OUTGOING.has(entry.kind) ? "out" : "in"}`}>
                    {OUTGOING.has(entry.kind) ? "−" : "+"}
                    {money(Math.abs(entry.amount))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Failure failure={more.failure} retry={() => void more.run()} />
      {cursor && (
        <button type="button" class="button button-secondary" onClick={() => void more.run()} disabled={more.busy} aria-busy={more.busy}>
          Показать ещё
        </button>
      )}
    </section>
  );
}

export function CertificatePage({ id }: { id: string }) {
  const { person } = useSession();
  const certificate = useLoad(
    async () => (person?.role === "parent" ? ok(api().GET("/certificates/{certificate_id}", { params: { path: { certificate_id: id } } })) : null),
    [id, person],
  );
  if (person?.role !== "parent") return <NeedParent title="Кабинет сертификата" here={href.certificate(id)} />;
  const c = certificate.data;
  return (
    <section>
      <p class="crumbs">
        <a href={href.children()}>← Мои дети</a>
      </p>
      <PageTitle>Сертификат № {id}</PageTitle>
      <Failure failure={certificate.failure} retry={certificate.reload} />
      {!c && certificate.loading && <Loading />}
      {c && (
        <>
          <p class="cert-meta">
            <span class={`status status-${c.status}`}>{CERTIFICATE_STATUS[c.status] ?? c.status}</span>
            <span>Действует до {date(c.valid_until)}</span>
            {c.period_id && <span>Период {c.period_id}</span>}
          </p>
          {c.status === "accounting" ? (
            <p class="notice">
              Это сертификат учёта: денег на нём нет. Получить финансирование можно в разделе{" "}
              <a href={href.children()}>«Мои дети»</a>.
            </p>
          ) : (
            <BalanceBar balance={c.balance} />
          )}
          <div class="two-columns">
            <Ledger id={id} />
            <Statement id={id} periodId={c.period_id} />
          </div>
        </>
      )}
    </section>
  );
}
