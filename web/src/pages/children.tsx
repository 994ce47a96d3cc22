// "Мои дети": the parent's children with their certificates (number, status, validity, balance), funding under the
// municipality's quota, and registering a child (a new accounting certificate).
import { useRef, useState } from "preact/hooks";
import { api, type Child, newKey, ok } from "../api";
import { Failure, Loading, PageTitle, useAction, useLoad } from "../components";
import { retryable } from "../errors";
import { CERTIFICATE_STATUS, date, money, municipalityName } from "../format";
import { href } from "../router";
import { useSession } from "../session";
import { NeedParent } from "./need-parent";

/** A POST's Idempotency-Key kept across the retries of one attempt, dropped once the API answered. */
function useAttemptKey(): { key: (of: string) => string; answered: (failure?: unknown) => void } {
  const current = useRef<{ of: string; key: string } | null>(null);
  return {
    key: (of) => {
      if (current.current?.of !== of) current.current = { of, key: newKey() };
      return current.current.key;
    },
    answered: (failure) => {
      if (failure === undefined || !retryable(failure)) current.current = null;
    },
  };
}

function ChildCard({ child, changed }: { child: Child; changed: () => void }) {
  const { config } = useSession();
  const certificate = child.certificate;
  const attempt = useAttemptKey();
  const fund = useAction(async () => {
    try {
      await ok(
        api().POST("/certificates/{certificate_id}/funding", {
          params: { path: { certificate_id: certificate.id }, header: { "Idempotency-Key": attempt.key(certificate.id) } },
        }),
      );
      attempt.answered();
    } catch (failure) {
      attempt.answered(failure);
      throw failure;
    }
    changed();
  });
  return (
    <li class="card child-card" data-certificate={certificate.id}>
      <h3>{child.full_name}</h3>
      <dl class="facts">
        <div>
          <dt>Сертификат №</dt>
          <dd class="number">{certificate.id}</dd>
        </div>
        <div>
          <dt>Статус</dt>
          <dd>
            <span class={`status status-${certificate.status}`}>{CERTIFICATE_STATUS[certificate.status] ?? certificate.status}</span>
          </dd>
        </div>
        <div>
          <dt>Действует до</dt>
          <dd>{date(certificate.valid_until)}</dd>
        </div>
        <div>
          <dt>Муниципалитет</dt>
          <dd>{municipalityName(config.municipalities, certificate.municipality)}</dd>
        </div>
        {certificate.status === "funded" && (
          <div>
            <dt>Доступно</dt>
            <dd data-testid="available">{money(certificate.balance.available)}</dd>
          </div>
        )}
      </dl>
      {certificate.status === "accounting" && (
        <div class="fund">
          <p class="muted">
            Сертификат учёта позволяет записываться на бесплатные программы. Сертификат финансирования пополняется на
            номинал периода и оплачивает занятия — если в муниципалитете не исчерпан лимит.
          </p>
          <Failure failure={fund.failure} retry={() => void fund.run()} />
          <button type="button" class="button" onClick={() => void fund.run()} disabled={fund.busy} aria-busy={fund.busy}>
            Получить финансирование
          </button>
        </div>
      )}
      <p class="links">
        <a href={href.certificate(certificate.id)}>Кабинет сертификата</a>
      </p>
    </li>
  );
}

function Register({ registered }: { registered: (child: Child) => void }) {
  const { config } = useSession();
  const [form, setForm] = useState({ full_name: "", birth_date: "", municipality: "" });
  const attempt = useAttemptKey();
  const register = useAction(async () => {
    const signature = JSON.stringify(form);
    try {
      const child = await ok(
        api().POST("/children", { body: form, params: { header: { "Idempotency-Key": attempt.key(signature) } } }),
      );
      attempt.answered();
      setForm({ full_name: "", birth_date: "", municipality: "" });
      registered(child);
    } catch (failure) {
      attempt.answered(failure);
      throw failure;
    }
  });
  const set = (name: keyof typeof form) => (event: Event) =>
    setForm({ ...form, [name]: (event.currentTarget as HTMLInputElement).value });
  const submit = (event: Event) => {
    event.preventDefault();
    void register.run();
  };
  return (
    <form class="panel register" onSubmit={submit} aria-labelledby="register-title">
      <h2 id="register-title">Добавить ребёнка</h2>
      <p class="muted">Ребёнок получит сертификат дополнительного образования. Он действует до 18 лет.</p>
      <div class="field">
        <label for="r-name">Фамилия, имя, отчество ребёнка</label>
        <input id="r-name" required autoComplete="off" minLength={3} maxLength={200} value={form.full_name} onInput={set("full_name")} />
      </div>
      <div class="field">
        <label for="r-birth">Дата рождения</label>
        <input id="r-birth" type="date" required value={form.birth_date} onInput={set("birth_date")} />
      </div>
      <div class="field">
        <label for="r-municipality">Муниципалитет проживания</label>
        <select id="r-municipality" required value={form.municipality} onChange={set("municipality")}>
          <option value="">Выберите</option>
          {Object.entries(config.municipalities).map(([id, name]) => (
            <option key={id} value={id}>
              {name}
            </option>
          ))}
        </select>
      </div>
      <Failure failure={register.failure} retry={() => void register.run()} />
      <button type="submit" class="button" disabled={register.busy} aria-busy={register.busy}>
        Получить сертификат
      </button>
    </form>
  );
}

export function ChildrenPage() {
  const { person } = useSession();
  const [issued, setIssued] = useState<Child | null>(null);
  const children = useLoad(async () => (person?.role === "parent" ? (await ok(api().GET("/children"))).children : []), [person]);
  if (person?.role !== "parent") return <NeedParent title="Мои дети" here={href.children()} />;
  return (
    <section>
      <PageTitle>Мои дети</PageTitle>
      {issued && (
        <p class="notice notice-ok" role="status">
          Сертификат № <strong>{issued.certificate.id}</strong> выдан: {issued.full_name}.
        </p>
      )}
      <div class="two-columns">
        <div>
          <Failure failure={children.failure} retry={children.reload} />
          {children.loading && !children.data && <Loading />}
          {children.data && children.data.length === 0 && <p>Вы ещё не добавили ни одного ребёнка.</p>}
          {children.data && children.data.length > 0 && (
            <ul class="cards cards-single">
              {children.data.map((child) => (
                <ChildCard key={child.certificate.id} child={child} changed={children.reload} />
              ))}
            </ul>
          )}
        </div>
        <Register
          registered={(child) => {
            setIssued(child);
            children.reload();
          }}
        />
      </div>
    </section>
  );
}
