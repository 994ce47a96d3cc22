// A certificate as an operator handles it: looked up by its number, its balance and movements, frozen with a reason
// (nothing moves while frozen) or unfrozen, and a duplicate merged into the certificate that stays (its available
// money moves along; the API checks the birth date and that no contract is open). Children pending verification and
// identity cases come with the identity issue (#13).
import { useState } from "preact/hooks";
import { api, ok } from "../../api";
import { BalanceBar, Failure, Loading, PageTitle, useAction, useKeyed, useLoad } from "../../components";
import { CERTIFICATE_STATUS, date, money, municipalityName } from "../../format";
import { Ledger } from "../../pages/certificate";
import { useSession } from "../../session";
import { ReasonForm, Status } from "../common";

const NUMBER = /^\d{10}$/;

function Merge({ id, merged }: { id: string; merged: (text: string) => void }) {
  const [into, setInto] = useState("");
  const [sure, setSure] = useState(false);
  const keyed = useKeyed();
  const merge = useAction(async () => {
    const answer = await keyed((key) =>
      ok(
        api().POST("/certificates/{certificate_id}/merge", {
          params: { path: { certificate_id: id }, header: { "Idempotency-Key": key } },
          body: { into },
        }),
      ),
    );
    setSure(false);
    merged(`Сертификат № ${answer.duplicate.id} закрыт как дубликат № ${answer.survivor.id}; перенесено ${money(answer.moved)}.`);
  });
  return (
    <form
      class="inline-form"
      onSubmit={(event) => {
        event.preventDefault();
        if (!NUMBER.test(into) || into === id) return;
        if (!sure) setSure(true);
        else void merge.run();
      }}
    >
      <label for="merge-into">Основной сертификат этого ребёнка (№, 10 цифр)</label>
      <input
        id="merge-into"
        inputMode="numeric"
        required
        pattern="\d{10}"
        maxLength={10}
        value={into}
        onInput={(e) => {
          setInto(e.currentTarget.value.trim());
          setSure(false);
        }}
      />
      {sure && (
        <p class="warn" role="alert">
          Сертификат № {id} будет закрыт, его доступные деньги перейдут на № {into}. Это нельзя отменить. Нажмите ещё раз,
          чтобы подтвердить.
        </p>
      )}
      <Failure failure={merge.failure} retry={() => void merge.run()} />
      <button type="submit" class="button button-danger" disabled={merge.busy} aria-busy={merge.busy}>
        {sure ? "Да, объединить" : "Объединить с основным"}
      </button>
    </form>
  );
}

function Certificate({ id }: { id: string }) {
  const { config } = useSession();
  const certificate = useLoad(() => ok(api().GET("/certificates/{certificate_id}", { params: { path: { certificate_id: id } } })), [id]);
  const [said, setSaid] = useState("");
  const [freezing, setFreezing] = useState(false);
  const freezeKey = useKeyed();
  const unfreezeKey = useKeyed();
  const unfreeze = useAction(async () => {
    await unfreezeKey((key) =>
      ok(api().POST("/certificates/{certificate_id}/unfreeze", { params: { path: { certificate_id: id }, header: { "Idempotency-Key": key } } })),
    );
    setSaid(`Сертификат № ${id} разблокирован.`);
    certificate.reload();
  });
  const c = certificate.data;
  if (certificate.failure) return <Failure failure={certificate.failure} retry={certificate.reload} />;
  if (!c) return <Loading />;
  return (
    <article class="certificate" data-certificate={c.id}>
      <h2>Сертификат № {c.id}</h2>
      <p class="cert-meta">
        <Status of={c.status} words={CERTIFICATE_STATUS} />
        <span>{municipalityName(config.municipalities, c.municipality)}</span>
        <span>Действует до {date(c.valid_until)}</span>
        {c.period_id && <span>Период {c.period_id}</span>}
      </p>
      {said && (
        <p class="notice notice-ok" role="status">
          {said}
        </p>
      )}
      {c.status !== "accounting" && <BalanceBar balance={c.balance} />}
      <div class="two-columns">
        <Ledger id={c.id} />
        <div>
          <section class="panel" aria-labelledby="freeze-title">
            <h2 id="freeze-title">Блокировка</h2>
            {c.status === "frozen" ? (
              <>
                <p>Сертификат заблокирован: деньги по нему не движутся.</p>
                <Failure failure={unfreeze.failure} retry={() => void unfreeze.run()} />
                <button type="button" class="button" onClick={() => void unfreeze.run()} disabled={unfreeze.busy} aria-busy={unfreeze.busy}>
                  Разблокировать
                </button>
              </>
            ) : c.status === "closed" ? (
              <p class="muted">Сертификат закрыт.</p>
            ) : freezing ? (
              <ReasonForm
                id="freeze-reason"
                label="Причина блокировки"
                submit="Заблокировать"
                tone="button button-danger"
                onSubmit={async (reason) => {
                  await freezeKey((key) =>
                    ok(
                      api().POST("/certificates/{certificate_id}/freeze", {
                        params: { path: { certificate_id: id }, header: { "Idempotency-Key": key } },
                        body: { reason },
                      }),
                    ),
                  );
                  setFreezing(false);
                  setSaid(`Сертификат № ${id} заблокирован.`);
                  certificate.reload();
                }}
                onCancel={() => setFreezing(false)}
              />
            ) : (
              <>
                <p class="muted">Пока сертификат заблокирован, по нему не проходят ни резервы, ни списания, ни пополнение.</p>
                <button type="button" class="button button-secondary" onClick={() => setFreezing(true)}>
                  Заблокировать…
                </button>
              </>
            )}
          </section>
          {c.status !== "closed" && (
            <section class="panel" aria-labelledby="merge-title">
              <h2 id="merge-title">Дубликат</h2>
              <p class="muted">
                Если у ребёнка два сертификата, этот (дубликат) закрывается, а доступные деньги переходят на основной.
                Нужны одинаковые даты рождения и ни одного открытого договора по дубликату.
              </p>
              <Merge
                id={c.id}
                merged={(text) => {
                  setSaid(text);
                  certificate.reload();
                }}
              />
            </section>
          )}
        </div>
      </div>
    </article>
  );
}

export function CertificatesPage() {
  const [typed, setTyped] = useState("");
  const [shown, setShown] = useState<string | null>(null);
  const valid = NUMBER.test(typed);
  return (
    <section>
      <PageTitle>Сертификаты</PageTitle>
      <form
        class="filters filters-compact"
        role="search"
        onSubmit={(event) => {
          event.preventDefault();
          if (valid) setShown(typed);
        }}
      >
        <div class="field">
          <label for="certificate-number">Номер сертификата</label>
          <input
            id="certificate-number"
            inputMode="numeric"
            autoComplete="off"
            maxLength={10}
            required
            value={typed}
            onInput={(e) => setTyped(e.currentTarget.value.replace(/\D/g, ""))}
            aria-describedby="certificate-number-hint"
          />
          <span class="muted small" id="certificate-number-hint">
            10 цифр
          </span>
        </div>
        <div class="actions">
          <button type="submit" class="button" disabled={!valid}>
            Найти
          </button>
        </div>
      </form>
      {shown && <Certificate key={shown} id={shown} />}
    </section>
  );
}
