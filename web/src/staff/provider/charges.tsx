// Monthly charges: every active contract of a month at once. Until the API has a bulk route (issue #17: one request,
// batched transactions, partial refusals listed), `chargeAll` sends one charge per contract, one after another, each
// with its own Idempotency-Key, and reports each contract's result; a retry of the failed ones reuses their keys
// (the API answers a repeated key with its first answer), so nothing is charged twice. The bulk route will replace
// `chargeAll` alone: the page already shows results per contract, which is what that route answers with.
import { useRef, useState } from "preact/hooks";
import { api, type Contract, newKey, ok } from "../../api";
import { Failure, Loading, PageTitle, useAction, useLoad } from "../../components";
import { describe, retryable } from "../../errors";
import { money, month as monthName, plural } from "../../format";
import { href } from "../../router";
import { kopecksOf, roublesText, thisMonth } from "../common";
import { contractsWhere } from "./contracts";

export interface ChargeLine {
  contract: Contract;
  amount: number;
}

export type ChargeResult = { state: "charged"; amount: number } | { state: "refused"; message: string; again: boolean };

/** One charge per line, in order; ``keys`` keeps each contract-month's key until the API answered it. */
async function chargeAll(
  month: string,
  lines: ChargeLine[],
  keys: Map<string, string>,
  each: (contractId: string, result: ChargeResult) => void,
): Promise<void> {
  for (const { contract, amount } of lines) {
    const attempt = `${contract.id}#${month}#${amount}`;
    const key = keys.get(attempt) ?? newKey();
    keys.set(attempt, key);
    try {
      const made = await ok(
        api().POST("/contracts/{contract_id}/charges", {
          params: { path: { contract_id: contract.id }, header: { "Idempotency-Key": key } },
          body: { month, amount },
        }),
      );
      keys.delete(attempt);
      each(contract.id, { state: "charged", amount: made.amount });
    } catch (failure) {
      const again = retryable(failure);
      if (!again) keys.delete(attempt);
      each(contract.id, { state: "refused", message: describe(failure), again });
    }
  }
}

export function ChargesPage() {
  const [month, setMonth] = useState(thisMonth());
  const contracts = useLoad(async () => (await contractsWhere({ status: "active", month })).items, [month]);
  const [skip, setSkip] = useState<Set<string>>(new Set());
  const [amounts, setAmounts] = useState<Record<string, string>>({});
  const [results, setResults] = useState<Record<string, ChargeResult>>({});
  const keys = useRef(new Map<string, string>());
  const all = contracts.data ?? [];
  const due = all.filter((c) => c.months_to_charge.includes(month));
  const done = all.filter((c) => c.charges[month] !== undefined && !results[c.id]);
  const amountOf = (c: Contract) => kopecksOf(amounts[c.id] ?? roublesText(c.price_per_month));
  const chosen = due.filter((c) => !skip.has(c.id) && results[c.id]?.state !== "charged");
  const invalid = chosen.some((c) => amountOf(c) === null);
  const total = chosen.reduce((sum, c) => sum + (amountOf(c) ?? 0), 0);
  const run = useAction(async (only?: string[]) => {
    const lines = chosen.filter((c) => !only || only.includes(c.id)).map((c) => ({ contract: c, amount: amountOf(c) ?? 0 }));
    await chargeAll(month, lines, keys.current, (id, result) => setResults((shown) => ({ ...shown, [id]: result })));
  });
  const charged = Object.values(results).filter((r) => r.state === "charged");
  const refused = Object.entries(results).filter(([, r]) => r.state === "refused");
  const again = refused.filter(([, r]) => r.state === "refused" && r.again).map(([id]) => id);
  const pick = (id: string, on: boolean) =>
    setSkip((current) => {
      const next = new Set(current);
      if (on) next.delete(id);
      else next.add(id);
      return next;
    });
  return (
    <section>
      <PageTitle>Списания за месяц</PageTitle>
      <p class="lead">
        Спишите оплату за месяц по всем действующим договорам сразу. Каждый договор списывается отдельно: один месяц
        договора оплачивается не больше одного раза, повторная отправка ничего не спишет дважды.
      </p>
      <div class="filters filters-compact">
        <div class="field">
          <label for="charge-month">Месяц занятий</label>
          <input
            id="charge-month"
            type="month"
            required
            value={month}
            onChange={(e) => {
              setMonth(e.currentTarget.value || thisMonth());
              setResults({});
              setSkip(new Set());
            }}
          />
        </div>
      </div>
      <Failure failure={contracts.failure} retry={contracts.reload} />
      {!contracts.data && contracts.loading && <Loading />}
      {contracts.data && due.length === 0 && Object.keys(results).length === 0 && (
        <p>
          За {monthName(month)} списывать нечего
          {done.length > 0 ? `: по ${done.length} ${plural(done.length, "договору", "договорам", "договорам")} месяц уже оплачен.` : "."}{" "}
          <a href={href.provider("contracts")}>Все договоры</a>
        </p>
      )}
      {due.length > 0 && (
        <form
          onSubmit={(event) => {
            event.preventDefault();
            if (!invalid) void run.run();
          }}
        >
          <ul class="charge-lines">
            {due.map((c) => {
              const result = results[c.id];
              const amountId = `amount-${c.id}`;
              return (
                <li key={c.id} class="charge-line" data-contract={c.id} data-result={result?.state}>
                  <label class="check">
                    <input
                      type="checkbox"
                      checked={!skip.has(c.id)}
                      disabled={run.busy || result?.state === "charged"}
                      onChange={(e) => pick(c.id, e.currentTarget.checked)}
                    />
                    <span class="charge-text">
                      <strong>{c.program_title}</strong>
                      <span class="muted small">
                        Договор № {c.id} · сертификат {c.certificate_id}
                      </span>
                    </span>
                  </label>
                  <div class="field charge-amount">
                    <label for={amountId}>Сумма, ₽</label>
                    <input
                      id={amountId}
                      inputMode="decimal"
                      value={amounts[c.id] ?? roublesText(c.price_per_month)}
                      disabled={run.busy || result?.state === "charged"}
                      onInput={(e) => setAmounts({ ...amounts, [c.id]: e.currentTarget.value })}
                      aria-invalid={amountOf(c) === null ? true : undefined}
                    />
                  </div>
                  <p class="charge-result" aria-live="polite">
                    {result?.state === "charged" && <span class="status status-active">Списано {money(result.amount)}</span>}
                    {result?.state === "refused" && <span class="field-error">{result.message}</span>}
                  </p>
                </li>
              );
            })}
          </ul>
          <Failure failure={run.failure} />
          {done.length > 0 && (
            <p class="muted">
              По {done.length} {plural(done.length, "договору", "договорам", "договорам")} {monthName(month)} уже оплачен.
            </p>
          )}
          <div class="actions">
            {(chosen.length > 0 || Object.keys(results).length === 0) && (
              <button type="submit" class="button" disabled={run.busy || chosen.length === 0 || invalid} aria-busy={run.busy}>
                Списать за {monthName(month)}: {chosen.length} {plural(chosen.length, "договор", "договора", "договоров")} на{" "}
                {money(total)}
              </button>
            )}
            {again.length > 0 && !run.busy && (
              <button type="button" class="button button-secondary" onClick={() => void run.run(again)}>
                Повторить неудавшиеся ({again.length})
              </button>
            )}
          </div>
        </form>
      )}
      {Object.keys(results).length > 0 && !run.busy && (
        <p class="notice" role="status" data-testid="charge-summary">
          Списано по {charged.length} {plural(charged.length, "договору", "договорам", "договорам")}
          {refused.length > 0 && `, не списано по ${refused.length}`}.
        </p>
      )}
    </section>
  );
}
