// The provider's organisation: the application to the registry (for a login that has not applied yet), then its
// status and the operator's reasons, its registry details, and its documents uploaded straight from the browser.
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { api, ok } from "../../api";
import { Failure, PageTitle, useAction, useKeyed } from "../../components";
import { date, municipalityName } from "../../format";
import { isValidInn, isValidOgrn, type ProviderKind } from "../../registry";
import { useSession } from "../../session";
import { PROVIDER_KIND, PROVIDER_STATUS, type Provider, Status } from "../common";
import { DocumentList, UploadDocument } from "../documents";
import { useOwn } from "../index";

const EXPLAINED: Record<string, string> = {
  applied:
    "Заявка на рассмотрении у оператора муниципалитета. Загрузите копии документов — лицензии на образовательную деятельность и устава: оператор проверит их перед решением.",
  approved: "Организация включена в реестр поставщиков: можно публиковать программы и принимать детей по сертификатам.",
  rejected: "Заявка отклонена оператором. Документы к ней больше не принимаются.",
  suspended:
    "Деятельность приостановлена оператором: новые записи и списания невозможны, программы остаются в каталоге. Действующие договоры сохраняются.",
};

function Field({
  id,
  label,
  error,
  hint,
  children,
}: {
  id: string;
  label: string;
  error?: string | null;
  hint?: string;
  children: ComponentChildren;
}) {
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {children}
      {hint && (
        <span class="muted small" id={`${id}-hint`}>
          {hint}
        </span>
      )}
      {error && (
        <span class="field-error" id={`${id}-error`}>
          {error}
        </span>
      )}
    </div>
  );
}

function ApplicationForm({ inn, applied }: { inn: string; applied: () => void }) {
  const { config } = useSession();
  const [kind, setKind] = useState<ProviderKind>(inn.length === 12 ? "entrepreneur" : "organization");
  const [form, setForm] = useState({ name: "", ogrn: "", licence: "", municipality: "", phone: "", email: "", address: "" });
  const [checked, setChecked] = useState(false);
  const keyed = useKeyed();
  const ogrnError = !isValidOgrn(form.ogrn.trim(), kind)
    ? kind === "organization"
      ? "ОГРН — 13 цифр, начинается с 1 или 5; проверьте контрольную цифру."
      : "ОГРНИП — 15 цифр, начинается с 3; проверьте контрольную цифру."
    : null;
  const innError = isValidInn(inn, kind)
    ? null
    : kind === "organization"
      ? "ИНН этой учётной записи — не ИНН организации (10 цифр)."
      : "ИНН этой учётной записи — не ИНН предпринимателя (12 цифр).";
  const apply = useAction(async () => {
    await keyed((key) =>
      ok(
        api().POST("/providers", {
          params: { header: { "Idempotency-Key": key } },
          body: {
            name: form.name.trim(),
            kind,
            inn,
            ogrn: form.ogrn.trim(),
            licence: form.licence.trim(),
            municipality: form.municipality,
            contacts: { phone: form.phone.trim(), email: form.email.trim(), address: form.address.trim() || null },
          },
        }),
      ),
    );
    applied();
  });
  const set = (name: keyof typeof form) => (event: Event) =>
    setForm({ ...form, [name]: (event.currentTarget as HTMLInputElement).value });
  return (
    <form
      class="panel application"
      aria-labelledby="apply-title"
      onSubmit={(event) => {
        event.preventDefault();
        setChecked(true);
        if (!ogrnError && !innError) void apply.run();
      }}
    >
      <h2 id="apply-title">Заявка на включение в реестр поставщиков</h2>
      <p class="muted">
        Организация подаёт заявку один раз. Оператор муниципалитета проверит реквизиты и документы и сообщит решение
        здесь же.
      </p>
      <fieldset>
        <legend>Кто подаёт заявку</legend>
        <div class="checks">
          {(["organization", "entrepreneur"] as const).map((value) => (
            <label key={value} class="check">
              <input type="radio" name="kind" value={value} checked={kind === value} onChange={() => setKind(value)} />
              {PROVIDER_KIND[value]}
            </label>
          ))}
        </div>
      </fieldset>
      <div class="form-grid">
        <Field id="a-name" label={kind === "organization" ? "Полное наименование организации" : "ФИО предпринимателя и название"}>
          <input id="a-name" required maxLength={300} value={form.name} onInput={set("name")} />
        </Field>
        <Field id="a-inn" label="ИНН" hint="ИНН вашей учётной записи" error={checked ? innError : null}>
          <input
            id="a-inn"
            value={inn}
            readOnly
            aria-invalid={checked && innError ? true : undefined}
            aria-describedby={checked && innError ? "a-inn-hint a-inn-error" : "a-inn-hint"}
          />
        </Field>
        <Field id="a-ogrn" label={kind === "organization" ? "ОГРН" : "ОГРНИП"} error={checked ? ogrnError : null}>
          <input
            id="a-ogrn"
            required
            inputMode="numeric"
            autoComplete="off"
            maxLength={15}
            value={form.ogrn}
            onInput={set("ogrn")}
            aria-invalid={checked && ogrnError ? true : undefined}
            aria-describedby={checked && ogrnError ? "a-ogrn-error" : undefined}
          />
        </Field>
        <Field id="a-licence" label="Лицензия на образовательную деятельность" hint="Номер и дата, например «№ 2518 от 14.03.2016»">
          <input id="a-licence" required maxLength={64} value={form.licence} onInput={set("licence")} aria-describedby="a-licence-hint" />
        </Field>
        <Field id="a-municipality" label="Муниципалитет">
          <select id="a-municipality" required value={form.municipality} onChange={set("municipality")}>
            <option value="">Выберите</option>
            {Object.entries(config.municipalities).map(([id, name]) => (
              <option key={id} value={id}>
                {name}
              </option>
            ))}
          </select>
        </Field>
        <Field id="a-address" label="Адрес">
          <input id="a-address" maxLength={300} autoComplete="street-address" value={form.address} onInput={set("address")} />
        </Field>
        <Field id="a-phone" label="Телефон">
          <input id="a-phone" type="tel" required minLength={5} maxLength={32} autoComplete="tel" value={form.phone} onInput={set("phone")} />
        </Field>
        <Field id="a-email" label="Электронная почта">
          <input id="a-email" type="email" required maxLength={254} autoComplete="email" value={form.email} onInput={set("email")} />
        </Field>
      </div>
      <Failure failure={apply.failure} retry={() => void apply.run()} />
      <button type="submit" class="button" disabled={apply.busy} aria-busy={apply.busy}>
        Подать заявку
      </button>
    </form>
  );
}

export function Details({ provider }: { provider: Provider }) {
  const { config } = useSession();
  return (
    <dl class="facts facts-details">
      <div>
        <dt>Наименование</dt>
        <dd>{provider.name}</dd>
      </div>
      <div>
        <dt>Вид</dt>
        <dd>{PROVIDER_KIND[provider.kind] ?? provider.kind}</dd>
      </div>
      <div>
        <dt>ИНН</dt>
        <dd class="number">{provider.inn}</dd>
      </div>
      <div>
        <dt>{provider.kind === "entrepreneur" ? "ОГРНИП" : "ОГРН"}</dt>
        <dd class="number">{provider.ogrn}</dd>
      </div>
      <div>
        <dt>Лицензия</dt>
        <dd>{provider.licence}</dd>
      </div>
      <div>
        <dt>Муниципалитет</dt>
        <dd>{municipalityName(config.municipalities, provider.municipality)}</dd>
      </div>
      <div>
        <dt>Телефон</dt>
        <dd>{provider.contacts.phone}</dd>
      </div>
      <div>
        <dt>Почта</dt>
        <dd>{provider.contacts.email}</dd>
      </div>
      {provider.contacts.address && (
        <div>
          <dt>Адрес</dt>
          <dd>{provider.contacts.address}</dd>
        </div>
      )}
    </dl>
  );
}

/** The application's status: for the provider what it means, for the operator who decided; the reason given. */
export function Decision({ provider, reader = "provider" }: { provider: Provider; reader?: "provider" | "operator" }) {
  return (
    <div class="decision" data-status={provider.status}>
      <p class="decision-status">
        <Status of={provider.status} words={PROVIDER_STATUS} />
        <span class="muted small">
          {provider.decided_at ? `Решение от ${date(provider.decided_at)}` : `Заявка подана ${date(provider.applied_at)}`}
          {reader === "operator" && provider.decided_by && `, принял ${provider.decided_by}`}
        </span>
      </p>
      {reader === "provider" && <p>{EXPLAINED[provider.status]}</p>}
      {provider.reason && (
        <p class="reason">
          <strong>Причина, указанная оператором:</strong> {provider.reason}
        </p>
      )}
    </div>
  );
}

export function OrganizationPage() {
  const { inn, provider, reload } = useOwn();
  if (!provider) {
    return (
      <section>
        <PageTitle>Организация</PageTitle>
        <p class="lead">
          Чтобы принимать детей по сертификатам, организация входит в реестр поставщиков: подайте заявку, затем
          загрузите копии документов.
        </p>
        <ApplicationForm inn={inn} applied={reload} />
      </section>
    );
  }
  return (
    <section>
      <PageTitle>{provider.name}</PageTitle>
      <div class="two-columns">
        <div>
          <section class="panel" aria-labelledby="status-title">
            <h2 id="status-title">Заявка в реестр</h2>
            <Decision provider={provider} />
          </section>
          <section class="panel" aria-labelledby="details-title">
            <h2 id="details-title">Реквизиты</h2>
            <Details provider={provider} />
          </section>
        </div>
        <section class="panel" aria-labelledby="documents-title">
          <h2 id="documents-title">Документы</h2>
          <DocumentList inn={inn} documents={provider.documents} />
          {provider.status !== "rejected" && <UploadDocument inn={inn} uploaded={reload} />}
        </section>
      </div>
    </section>
  );
}
