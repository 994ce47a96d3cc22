// The parent's contracts: status, the months charged, cancelling, an objection to a charge, and a rating of the
// program once the provider accepted. Every POST carries an Idempotency-Key kept across the retries of one attempt.
import { useState } from "preact/hooks";
import { api, type Contract, type Objection, ok } from "../api";
import { Failure, Loading, PageTitle, useAction, useKeyed, useLoad } from "../components";
import { CONTRACT_STATUS, date, money, month, OBJECTION_STATUS } from "../format";
import { href } from "../router";
import { useSession } from "../session";
import { NeedParent } from "./need-parent";

const MAX_PAGES = 10;

function ObjectionForm({ contract, month: charged, filed }: { contract: Contract; month: string; filed: () => void }) {
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState("");
  const keyed = useKeyed();
  const object = useAction(async () => {
    await keyed((key) =>
      ok(
        api().POST("/contracts/{contract_id}/charges/{month}/objection", {
          params: { path: { contract_id: contract.id, month: charged }, header: { "Idempotency-Key": key } },
          body: { reason },
        }),
      ),
    );
    setOpen(false);
    filed();
  });
  if (!open) {
    return (
      <button type="button" class="link-button" onClick={() => setOpen(true)}>
        Оспорить списание
      </button>
    );
  }
  const id = `objection-${contract.id}-${charged}`;
  return (
    <form
      class="inline-form"
      onSubmit={(event) => {
        event.preventDefault();
        void object.run();
      }}
    >
      <label for={id}>Почему вы не согласны со списанием за {month(charged)}?</label>
      <textarea id={id} required minLength={3} maxLength={1000} value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
      <Failure failure={object.failure} retry={() => void object.run()} />
      <div class="actions">
        <button type="submit" class="button" disabled={object.busy} aria-busy={object.busy}>
          Подать претензию
        </button>
        <button type="button" class="button button-secondary" onClick={() => setOpen(false)} disabled={object.busy}>
          Отмена
        </button>
      </div>
    </form>
  );
}

function RatingForm({ contract }: { contract: Contract }) {
  const [score, setScore] = useState(0);
  const [comment, setComment] = useState("");
  const [done, setDone] = useState(false);
  const keyed = useKeyed();
  const rate = useAction(async () => {
    await keyed((key) =>
      ok(
        api().POST("/programs/{program_id}/ratings", {
          params: { path: { program_id: contract.program_id }, header: { "Idempotency-Key": key } },
          body: { contract_id: contract.id, score, comment: comment.trim() || null },
        }),
      ),
    );
    setDone(true);
  });
  if (done) return <p class="notice notice-ok">Спасибо! Ваша оценка учтена.</p>;
  return (
    <form
      class="inline-form rating-form"
      onSubmit={(event) => {
        event.preventDefault();
        if (score) void rate.run();
      }}
    >
      <fieldset>
        <legend>Оцените программу</legend>
        <div class="score">
          {[1, 2, 3, 4, 5].map((n) => (
            <label key={n} class="score-choice">
              <input type="radio" name={`score-${contract.id}`} value={n} checked={score === n} onChange={() => setScore(n)} />
              <span>{n}</span>
            </label>
          ))}
        </div>
      </fieldset>
      <label for={`comment-${contract.id}`}>Отзыв (необязательно)</label>
      <textarea id={`comment-${contract.id}`} maxLength={2000} value={comment} onInput={(e) => setComment(e.currentTarget.value)} />
      <Failure failure={rate.failure} retry={() => void rate.run()} />
      <button type="submit" class="button button-secondary" disabled={!score || rate.busy} aria-busy={rate.busy}>
        Отправить оценку
      </button>
    </form>
  );
}

function ContractCard({
  contract,
  child,
  objections,
  changed,
}: {
  contract: Contract;
  child: string | undefined;
  objections: Objection[];
  changed: () => void;
}) {
  const [confirming, setConfirming] = useState(false);
  const keyed = useKeyed();
  const cancel = useAction(async () => {
    await keyed((key) =>
      ok(
        api().POST("/contracts/{contract_id}/cancel", {
          params: { path: { contract_id: contract.id }, header: { "Idempotency-Key": key } },
          body: { reason: null },
        }),
      ),
    );
    setConfirming(false);
    changed();
  });
  const charged = Object.entries(contract.charges).sort(([a], [b]) => a.localeCompare(b));
  const open = contract.status === "requested" || contract.status === "active";
  const objectionOf = (m: string) => objections.find((o) => o.contract_id === contract.id && o.month === m);
  return (
    <li class="card contract-card" data-contract={contract.id}>
      <div class="card-top">
        <span class={`status status-${contract.status}`}>{CONTRACT_STATUS[contract.status] ?? contract.status}</span>
        <span class="muted small">Договор № {contract.id}</span>
      </div>
      <h3>
        <a href={href.program(contract.program_id)}>{contract.program_title}</a>
      </h3>
      {child && <p class="provider">{child}</p>}
      <dl class="facts">
        <div>
          <dt>В месяц</dt>
          <dd>{money(contract.price_per_month)}</dd>
        </div>
        <div>
          <dt>Зарезервировано</dt>
          <dd data-testid="held">{money(contract.held)}</dd>
        </div>
        <div>
          <dt>Оплачено</dt>
          <dd>{money(contract.charged)}</dd>
        </div>
        <div>
          <dt>Оформлен</dt>
          <dd>{date(contract.created_at)}</dd>
        </div>
      </dl>
      {contract.status === "requested" && <p class="muted">Поставщик рассмотрит заявку до {date(contract.respond_by)}.</p>}
      {charged.length > 0 && (
        <div class="charges">
          <h4>Оплаченные месяцы</h4>
          <ul>
            {charged.map(([m, amount]) => {
              const objection = objectionOf(m);
              return (
                <li key={m} data-month={m}>
                  <span>
                    {month(m)} — {money(amount)}
                  </span>
                  {objection ? (
                    <span class="status status-objection">Претензия: {OBJECTION_STATUS[objection.status] ?? objection.status}</span>
                  ) : (
                    <ObjectionForm contract={contract} month={m} filed={changed} />
                  )}
                </li>
              );
            })}
          </ul>
        </div>
      )}
      {contract.accepted_at && (contract.status === "active" || contract.status === "ended") && <RatingForm contract={contract} />}
      {open && (
        <div class="cancel">
          <Failure failure={cancel.failure} retry={() => void cancel.run()} />
          {confirming ? (
            <div class="actions" role="group" aria-label="Подтверждение расторжения">
              <span>Расторгнуть договор? Зарезервированные деньги вернутся на сертификат.</span>
              <button type="button" class="button button-danger" onClick={() => void cancel.run()} disabled={cancel.busy} aria-busy={cancel.busy}>
                Да, расторгнуть
              </button>
              <button type="button" class="button button-secondary" onClick={() => setConfirming(false)} disabled={cancel.busy}>
                Нет
              </button>
            </div>
          ) : (
            <button type="button" class="link-button danger" onClick={() => setConfirming(true)}>
              {contract.status === "requested" ? "Отозвать заявку" : "Расторгнуть договор"}
            </button>
          )}
        </div>
      )}
    </li>
  );
}

async function allContracts(): Promise<{ contracts: Contract[]; more: boolean }> {
  const contracts: Contract[] = [];
  let cursor: string | null = null;
  for (let n = 0; n < MAX_PAGES; n++) {
    const query: { limit: number; cursor?: string } = cursor ? { limit: 50, cursor } : { limit: 50 };
    const page = await ok(api().GET("/contracts", { params: { query } }));
    contracts.push(...page.contracts);
    cursor = page.cursor;
    if (cursor === null) return { contracts, more: false };
  }
  return { contracts, more: true };
}

export function ContractsPage() {
  const { person } = useSession();
  const data = useLoad(async () => {
    if (person?.role !== "parent") return null;
    const [contracts, children, objections] = await Promise.all([
      allContracts(),
      ok(api().GET("/children")),
      ok(api().GET("/objections", { params: { query: { limit: 100 } } })),
    ]);
    const names = new Map(children.children.map((c) => [c.certificate.id, c.full_name]));
    return { ...contracts, names, objections: objections.objections };
  }, [person]);
  if (person?.role !== "parent") return <NeedParent title="Договоры" here={href.contracts()} />;
  const d = data.data;
  return (
    <section>
      <PageTitle>Договоры</PageTitle>
      <Failure failure={data.failure} retry={data.reload} />
      {!d && data.loading && <Loading />}
      {d && d.contracts.length === 0 && (
        <p>
          Договоров пока нет. Найдите программу в <a href={href.catalog()}>каталоге</a> и запишите ребёнка.
        </p>
      )}
      {d && d.contracts.length > 0 && (
        <ul class="cards cards-single">
          {d.contracts.map((contract) => (
            <ContractCard
              key={contract.id}
              contract={contract}
              child={d.names.get(contract.certificate_id)}
              objections={d.objections}
              changed={data.reload}
            />
          ))}
        </ul>
      )}
      {d?.more && <p class="muted">Показаны не все договоры.</p>}
    </section>
  );
}
