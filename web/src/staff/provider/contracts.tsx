// The provider's contracts: incoming applications (requested: accept, or decline with a reason), every contract with
// filters (status, program, month), and a contract's page: its months, charging one, cancelling with a reason.
// Pupils' names come with the enrolment issue (#15): until then a contract shows the certificate's number.
import { useState } from "preact/hooks";
import { api, type Contract, ok } from "../../api";
import { Failure, Loading, PageTitle, useAction, useKeyed, useLoad } from "../../components";
import { CONTRACT_STATUS, date, money, month as monthName, plural } from "../../format";
import { href } from "../../router";
import { type Column, DataTable, everything, kopecksOf, ReasonForm, roublesText } from "../common";
import { useOwn } from "../index";
import { ownPrograms } from "./programs";

type Filters = { status: string; program_id: string; month: string };

export async function contractsWhere(filters: Partial<Filters>): Promise<{ items: Contract[]; more: boolean }> {
  return everything(async (cursor) => {
    const query: Record<string, string | number> = { limit: 100 };
    for (const [name, value] of Object.entries(filters)) if (value) query[name] = value;
    if (cursor) query.cursor = cursor;
    const page = await ok(api().GET("/contracts", { params: { query } }));
    return { items: page.contracts, cursor: page.cursor };
  });
}

function Incoming({ contract, answered }: { contract: Contract; answered: (text: string) => void }) {
  const [declining, setDeclining] = useState(false);
  const acceptKey = useKeyed();
  const declineKey = useKeyed();
  const accept = useAction(async () => {
    await acceptKey((key) =>
      ok(api().POST("/contracts/{contract_id}/accept", { params: { path: { contract_id: contract.id }, header: { "Idempotency-Key": key } } })),
    );
    answered(`Заявка № ${contract.id} принята: договор действует.`);
  });
  return (
    <li class="card" data-contract={contract.id}>
      <div class="card-top">
        <span class="status status-requested">Новая заявка</span>
        <span class="muted small">№ {contract.id}</span>
      </div>
      <h3>{contract.program_title}</h3>
      <dl class="facts">
        <div>
          <dt>Сертификат</dt>
          <dd class="number">{contract.certificate_id}</dd>
        </div>
        <div>
          <dt>В месяц</dt>
          <dd>{money(contract.price_per_month)}</dd>
        </div>
        <div>
          <dt>Зарезервировано</dt>
          <dd>{money(contract.hold)}</dd>
        </div>
        <div>
          <dt>Ответить до</dt>
          <dd>{date(contract.respond_by)}</dd>
        </div>
      </dl>
      <Failure failure={accept.failure} retry={() => void accept.run()} />
      {declining ? (
        <ReasonForm
          id={`decline-${contract.id}`}
          label="Причина отказа (её увидит родитель)"
          submit="Отклонить заявку"
          tone="button button-danger"
          onSubmit={async (reason) => {
            await declineKey((key) =>
              ok(
                api().POST("/contracts/{contract_id}/decline", {
                  params: { path: { contract_id: contract.id }, header: { "Idempotency-Key": key } },
                  body: { reason },
                }),
              ),
            );
            answered(`Заявка № ${contract.id} отклонена: резерв и место освобождены.`);
          }}
          onCancel={() => setDeclining(false)}
        />
      ) : (
        <div class="actions card-bottom">
          <button type="button" class="button" onClick={() => void accept.run()} disabled={accept.busy} aria-busy={accept.busy}>
            Принять<span class="visually-hidden"> заявку № {contract.id}</span>
          </button>
          <button type="button" class="button button-secondary" onClick={() => setDeclining(true)}>
            Отклонить<span class="visually-hidden"> заявку № {contract.id}</span>
          </button>
        </div>
      )}
    </li>
  );
}

/** The contract's status as the provider reads it (the parents' words but for a request, which is new to it). */
export const PROVIDER_CONTRACT_STATUS: Record<string, string> = { ...CONTRACT_STATUS, requested: "Новая заявка" };

const COLUMNS: Column<Contract>[] = [
  {
    label: "Программа",
    head: true,
    cell: (c) => (
      <a href={href.provider("contracts", c.id)}>
        {c.program_title}
        <span class="visually-hidden">, договор № {c.id}</span>
      </a>
    ),
  },
  { label: "Договор", cell: (c) => <span class="number">№ {c.id}</span> },
  { label: "Сертификат", cell: (c) => <span class="number">{c.certificate_id}</span> },
  { label: "Статус", cell: (c) => <span class={`status status-${c.status}`}>{PROVIDER_CONTRACT_STATUS[c.status] ?? c.status}</span> },
  { label: "В месяц", num: true, cell: (c) => money(c.price_per_month) },
  { label: "Оплачено", num: true, cell: (c) => money(c.charged) },
  { label: "Резерв", num: true, cell: (c) => money(c.held) },
  {
    label: "К списанию",
    cell: (c) => (c.status === "active" && c.months_to_charge.length > 0 ? c.months_to_charge.map(monthName).join(", ") : "—"),
  },
];

export function ContractsPage() {
  const { inn } = useOwn();
  const [filters, setFilters] = useState<Filters>({ status: "", program_id: "", month: "" });
  const [said, setSaid] = useState("");
  const programs = useLoad(() => ownPrograms(inn), [inn]);
  const incoming = useLoad(() => contractsWhere({ status: "requested" }), []);
  const listed = useLoad(() => contractsWhere(filters), [filters.status, filters.program_id, filters.month]);
  const set = (name: keyof Filters) => (event: Event) => setFilters({ ...filters, [name]: (event.currentTarget as HTMLSelectElement).value });
  const requests = incoming.data?.items ?? [];
  return (
    <section>
      <PageTitle>Договоры</PageTitle>
      {said && (
        <p class="notice notice-ok" role="status">
          {said}
        </p>
      )}
      <section aria-labelledby="incoming-title">
        <h2 id="incoming-title">
          Новые заявки{requests.length > 0 && <span class="count"> {requests.length}</span>}
        </h2>
        <Failure failure={incoming.failure} retry={incoming.reload} />
        {!incoming.data && incoming.loading && <Loading />}
        {incoming.data && requests.length === 0 && <p class="muted">Новых заявок нет.</p>}
        {requests.length > 0 && (
          <ul class="cards">
            {requests.map((contract) => (
              <Incoming
                key={contract.id}
                contract={contract}
                answered={(text) => {
                  setSaid(text);
                  incoming.reload();
                  listed.reload();
                }}
              />
            ))}
          </ul>
        )}
      </section>
      <section aria-labelledby="all-title">
        <h2 id="all-title">Все договоры</h2>
        <form class="filters filters-compact" onSubmit={(e) => e.preventDefault()}>
          <div class="field">
            <label for="f-status">Статус</label>
            <select id="f-status" value={filters.status} onChange={set("status")}>
              <option value="">Любой</option>
              {Object.entries(PROVIDER_CONTRACT_STATUS).map(([value, label]) => (
                <option key={value} value={value}>
                  {label}
                </option>
              ))}
            </select>
          </div>
          <div class="field">
            <label for="f-program">Программа</label>
            <select id="f-program" value={filters.program_id} onChange={set("program_id")}>
              <option value="">Любая</option>
              {(programs.data ?? []).map((p) => (
                <option key={p.program_id} value={p.program_id}>
                  {p.title}
                </option>
              ))}
            </select>
          </div>
          <div class="field">
            <label for="f-month">Месяц занятий</label>
            <input id="f-month" type="month" value={filters.month} onChange={set("month")} />
          </div>
        </form>
        <Failure failure={listed.failure} retry={listed.reload} />
        {!listed.data && listed.loading && <Loading />}
        {listed.data && listed.data.items.length === 0 && <p>Договоров с такими условиями нет.</p>}
        {listed.data && listed.data.items.length > 0 && (
          <>
            <p class="muted">
              {listed.data.items.length} {plural(listed.data.items.length, "договор", "договора", "договоров")}
              {listed.data.more && " (показаны не все)"}
            </p>
            <DataTable caption="Договоры поставщика" columns={COLUMNS} rows={listed.data.items} rowKey={(c) => c.id} />
          </>
        )}
      </section>
    </section>
  );
}

// --- one contract ----------------------------------------------------------------------------------------------------

function ChargeForm({ contract, charged }: { contract: Contract; charged: (text: string) => void }) {
  const [chosen, setChosen] = useState(contract.months_to_charge[0] ?? "");
  const [amount, setAmount] = useState(roublesText(contract.price_per_month));
  const keyed = useKeyed();
  const kopecks = kopecksOf(amount);
  const charge = useAction(async () => {
    if (kopecks === null || !chosen) return;
    const made = await keyed((key) =>
      ok(
        api().POST("/contracts/{contract_id}/charges", {
          params: { path: { contract_id: contract.id }, header: { "Idempotency-Key": key } },
          body: { month: chosen, amount: kopecks },
        }),
      ),
    );
    charged(`Списано ${money(made.amount)} за ${monthName(made.month)}.`);
  });
  if (contract.months_to_charge.length === 0) return <p class="muted">Месяцев к списанию сейчас нет.</p>;
  return (
    <form
      class="inline-form"
      onSubmit={(event) => {
        event.preventDefault();
        void charge.run();
      }}
    >
      <div class="form-grid">
        <div class="field">
          <label for="c-month">Месяц</label>
          <select id="c-month" value={chosen} onChange={(e) => setChosen(e.currentTarget.value)}>
            {contract.months_to_charge.map((m) => (
              <option key={m} value={m}>
                {monthName(m)}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="c-amount">Сумма, ₽</label>
          <input
            id="c-amount"
            inputMode="decimal"
            required
            value={amount}
            onInput={(e) => setAmount(e.currentTarget.value)}
            aria-describedby="c-amount-hint"
          />
          <span class="muted small" id="c-amount-hint">
            Не больше {money(contract.price_per_month)} — цены месяца по договору
          </span>
        </div>
      </div>
      {kopecks === null && amount.trim() && <p class="field-error">Укажите сумму в рублях.</p>}
      <Failure failure={charge.failure} retry={() => void charge.run()} />
      <button type="submit" class="button" disabled={charge.busy || kopecks === null} aria-busy={charge.busy}>
        Списать за месяц
      </button>
    </form>
  );
}

export function ContractPage({ id }: { id: string }) {
  const contract = useLoad(() => ok(api().GET("/contracts/{contract_id}", { params: { path: { contract_id: id } } })), [id]);
  const [said, setSaid] = useState("");
  const [cancelling, setCancelling] = useState(false);
  const cancelKey = useKeyed();
  const c = contract.data;
  return (
    <section>
      <p class="crumbs">
        <a href={href.provider("contracts")}>← Договоры</a>
      </p>
      <PageTitle>Договор № {id}</PageTitle>
      <Failure failure={contract.failure} retry={contract.reload} />
      {!c && contract.loading && <Loading />}
      {said && (
        <p class="notice notice-ok" role="status">
          {said}
        </p>
      )}
      {c && (
        <div class="two-columns">
          <section class="panel" aria-labelledby="terms-title">
            <h2 id="terms-title">{c.program_title}</h2>
            <p>
              <span class={`status status-${c.status}`}>{PROVIDER_CONTRACT_STATUS[c.status] ?? c.status}</span>
            </p>
            <dl class="facts">
              <div>
                <dt>Сертификат</dt>
                <dd class="number">{c.certificate_id}</dd>
              </div>
              <div>
                <dt>В месяц</dt>
                <dd>{money(c.price_per_month)}</dd>
              </div>
              <div>
                <dt>Оплачено</dt>
                <dd>{money(c.charged)}</dd>
              </div>
              <div>
                <dt>Остаток резерва</dt>
                <dd>{money(c.held)}</dd>
              </div>
              <div>
                <dt>Оформлен</dt>
                <dd>{date(c.created_at)}</dd>
              </div>
              {c.accepted_at && (
                <div>
                  <dt>Принят</dt>
                  <dd>{date(c.accepted_at)}</dd>
                </div>
              )}
            </dl>
            {c.end_reason && <p class="reason">Причина завершения: {c.end_reason}</p>}
            <h3>Месяцы</h3>
            <ul class="months-list">
              {c.months.map((m) => (
                <li key={m} data-month={m}>
                  <span>{monthName(m)}</span>
                  <span class="muted">
                    {c.charges[m] !== undefined ? `списано ${money(c.charges[m] ?? 0)}` : c.months_to_charge.includes(m) ? "к списанию" : "—"}
                  </span>
                </li>
              ))}
            </ul>
          </section>
          <div>
            {c.status === "active" && (
              <section class="panel" aria-labelledby="charge-title">
                <h2 id="charge-title">Списать за месяц</h2>
                <ChargeForm
                  key={c.months_to_charge.join()}
                  contract={c}
                  charged={(text) => {
                    setSaid(text);
                    contract.reload();
                  }}
                />
              </section>
            )}
            {c.status === "requested" && (
              <p class="notice">
                Заявка ждёт ответа до {date(c.respond_by)}. Принять или отклонить её можно в разделе{" "}
                <a href={href.provider("contracts")}>«Договоры»</a>.
              </p>
            )}
            {(c.status === "active" || c.status === "requested") && (
              <section class="panel" aria-labelledby="cancel-title">
                <h2 id="cancel-title">Расторжение</h2>
                {cancelling ? (
                  <ReasonForm
                    id="cancel-reason"
                    label="Причина расторжения (её увидит родитель)"
                    submit="Расторгнуть договор"
                    tone="button button-danger"
                    onSubmit={async (reason) => {
                      await cancelKey((key) =>
                        ok(
                          api().POST("/contracts/{contract_id}/cancel", {
                            params: { path: { contract_id: c.id }, header: { "Idempotency-Key": key } },
                            body: { reason },
                          }),
                        ),
                      );
                      setCancelling(false);
                      setSaid("Договор расторгнут: оставшийся резерв вернулся на сертификат.");
                      contract.reload();
                    }}
                    onCancel={() => setCancelling(false)}
                  />
                ) : (
                  <>
                    <p class="muted">Оставшийся резерв вернётся на сертификат ребёнка, место освободится.</p>
                    <button type="button" class="link-button danger" onClick={() => setCancelling(true)}>
                      Расторгнуть договор
                    </button>
                  </>
                )}
              </section>
            )}
          </div>
        </div>
      )}
    </section>
  );
}
