// The provider's programs: every status with its certification, publishing a draft (which puts it in the operator's
// certification queue), closing; a new program (published or a draft) and editing one, with what changing a
// certified program's terms means said before it is saved.
import { useState } from "preact/hooks";
import { api, ok } from "../../api";
import { Failure, Loading, PageTitle, useAction, useKeyed, useLoad } from "../../components";
import { ages, DIRECTIONS, money, month as monthName, municipalityName, plural } from "../../format";
import { go, href } from "../../router";
import { useSession } from "../../session";
import { everything, kopecksOf, monthsBetween, PROGRAM_STATUS, type ProgramOut, roublesText, Status } from "../common";
import { useOwn } from "../index";

// --- what changing a certified program's terms means --------------------------------------------------------------

/** The terms an operator certified: editing them is what the notice is about (the security review's list). */
const CERTIFIED_TERMS = ["price_per_month", "months", "title", "description"] as const;
type Term = (typeof CERTIFIED_TERMS)[number];
const TERM_NAMES: Record<Term, string> = {
  price_per_month: "цена",
  months: "месяцы проведения",
  title: "название",
  description: "описание",
};

/**
 * An edit of a certified program's terms sends it back to certification (the API answers certification_withdrawn):
 * until an operator certifies it again, a certificate pays for no new enrolment; contracts already made keep their
 * terms. The notice says so before saving.
 */
export function certifiedTermsNotice(program: ProgramOut, changed: Partial<Record<Term, unknown>>): string[] {
  if (program.status !== "certified") return [];
  const terms = CERTIFIED_TERMS.filter((term) => changed[term] !== undefined);
  if (terms.length === 0) return [];
  const lines = [
    `Вы меняете сертифицированные условия (${terms.map((t) => TERM_NAMES[t]).join(", ")}): программа вернётся на сертификацию. Пока оператор не сертифицирует её снова, записать ребёнка с оплатой сертификатом нельзя.`,
  ];
  if (typeof changed.price_per_month === "number") {
    lines.push(
      `Новая цена — ${money(changed.price_per_month)} в месяц вместо ${money(program.price_per_month)} — действует только для новых договоров.`,
    );
  }
  if (changed.months !== undefined) lines.push("Новые месяцы проведения определят резерв только новых договоров.");
  if (changed.title !== undefined || changed.description !== undefined) lines.push("Название и описание изменятся в каталоге сразу.");
  lines.push("Действующие договоры сохраняют свои условия: цену, месяцы и резерв.");
  return lines;
}

// --- the list --------------------------------------------------------------------------------------------------------

function ProgramCard({ program, changed }: { program: ProgramOut; changed: () => void }) {
  const [closing, setClosing] = useState(false);
  const publishKey = useKeyed();
  const closeKey = useKeyed();
  const publish = useAction(async () => {
    await publishKey((key) =>
      ok(api().POST("/programs/{program_id}/publish", { params: { path: { program_id: program.program_id }, header: { "Idempotency-Key": key } } })),
    );
    changed();
  });
  const close = useAction(async () => {
    await closeKey((key) =>
      ok(api().POST("/programs/{program_id}/close", { params: { path: { program_id: program.program_id }, header: { "Idempotency-Key": key } } })),
    );
    setClosing(false);
    changed();
  });
  const p = program;
  const first = p.months[0];
  const last = p.months[p.months.length - 1];
  return (
    <li class="card program-card" data-program={p.program_id}>
      <div class="card-top">
        <Status of={p.status} words={PROGRAM_STATUS} />
        <span class="tag">{DIRECTIONS[p.direction] ?? p.direction}</span>
      </div>
      <h3>{p.status === "draft" ? p.title : <a href={href.program(p.program_id)}>{p.title}</a>}</h3>
      <dl class="facts">
        <div>
          <dt>Цена в месяц</dt>
          <dd>{p.price_per_month === 0 ? "Бесплатно" : money(p.price_per_month)}</dd>
        </div>
        <div>
          <dt>Места</dt>
          <dd>
            {p.seats_taken} из {p.capacity}
          </dd>
        </div>
        <div>
          <dt>Возраст</dt>
          <dd>{ages(p.age_min, p.age_max)}</dd>
        </div>
        <div>
          <dt>Месяцы</dt>
          <dd>{first && last ? (first === last ? monthName(first) : `${monthName(first)} — ${monthName(last)}`) : "—"}</dd>
        </div>
      </dl>
      <p class="muted small">
        {p.status === "published"
          ? p.price_per_month === 0
            ? "Бесплатная программа уже принимает записи; сертификацию проводит оператор."
            : "Опубликована и ждёт сертификации оператором: до неё оплатить программу сертификатом нельзя."
          : p.status === "draft"
            ? "Черновик видите только вы. Публикация отправит программу в каталог и на сертификацию."
            : p.status === "certified"
              ? "Оператор сертифицировал программу: её можно оплатить сертификатом."
              : "Программа закрыта: новых записей нет, действующие договоры продолжаются."}
        {p.rating.count > 0 && p.rating.average !== null && (
          <>
            {" "}
            Оценка {p.rating.average.toFixed(1).replace(".", ",")} ({p.rating.count} {plural(p.rating.count, "оценка", "оценки", "оценок")}).
          </>
        )}
      </p>
      <Failure failure={publish.failure ?? close.failure} retry={() => void (publish.failure ? publish.run() : close.run())} />
      <div class="actions card-bottom">
        {p.status !== "closed" && (
          <a class="button button-secondary" href={href.provider("programs", p.program_id)}>
            Изменить<span class="visually-hidden"> «{p.title}»</span>
          </a>
        )}
        {p.status === "draft" && (
          <button type="button" class="button" onClick={() => void publish.run()} disabled={publish.busy} aria-busy={publish.busy}>
            Опубликовать<span class="visually-hidden"> «{p.title}»</span>
          </button>
        )}
        {(p.status === "published" || p.status === "certified") &&
          (closing ? (
            <span class="actions" role="group" aria-label="Подтверждение закрытия">
              <span>Закрыть программу? Новых записей не будет.</span>
              <button type="button" class="button button-danger" onClick={() => void close.run()} disabled={close.busy} aria-busy={close.busy}>
                Да, закрыть
              </button>
              <button type="button" class="button button-secondary" onClick={() => setClosing(false)}>
                Нет
              </button>
            </span>
          ) : (
            <button type="button" class="link-button danger" onClick={() => setClosing(true)}>
              Закрыть программу<span class="visually-hidden"> «{p.title}»</span>
            </button>
          ))}
      </div>
    </li>
  );
}

export async function ownPrograms(inn: string): Promise<ProgramOut[]> {
  const { items } = await everything(async (cursor) => {
    const page = await ok(
      api().GET("/providers/{provider_id}/programs", { params: { path: { provider_id: inn }, query: cursor ? { limit: 100, cursor } : { limit: 100 } } }),
    );
    return { items: page.programs, cursor: page.cursor };
  });
  return items;
}

const ORDER = ["draft", "published", "certified", "closed"];

export function ProgramsPage() {
  const { inn } = useOwn();
  const programs = useLoad(() => ownPrograms(inn), [inn]);
  const list = [...(programs.data ?? [])].sort(
    (a, b) => ORDER.indexOf(a.status) - ORDER.indexOf(b.status) || a.title.localeCompare(b.title, "ru"),
  );
  const waiting = list.filter((p) => p.status === "published").length;
  return (
    <section>
      <PageTitle>Программы</PageTitle>
      <p class="actions">
        <a class="button" href={href.provider("programs", "new")}>
          Новая программа
        </a>
      </p>
      <Failure failure={programs.failure} retry={programs.reload} />
      {!programs.data && programs.loading && <Loading />}
      {programs.data && list.length === 0 && <p>Программ пока нет.</p>}
      {waiting > 0 && (
        <p class="notice">
          {waiting} {plural(waiting, "программа ждёт", "программы ждут", "программ ждут")} сертификации оператором.
        </p>
      )}
      {list.length > 0 && (
        <ul class="cards">
          {list.map((program) => (
            <ProgramCard key={program.program_id} program={program} changed={programs.reload} />
          ))}
        </ul>
      )}
    </section>
  );
}

// --- a new program, or changes to one ------------------------------------------------------------------------------

interface Form {
  title: string;
  description: string;
  direction: string;
  age_min: string;
  age_max: string;
  municipality: string;
  address: string;
  schedule: string;
  period_id: string;
  from: string;
  to: string;
  price: string;
  capacity: string;
}

function formOf(program: ProgramOut | null, municipality: string, address: string): Form {
  if (!program) {
    return {
      title: "",
      description: "",
      direction: "",
      age_min: "7",
      age_max: "12",
      municipality,
      address,
      schedule: "",
      period_id: String(new Date().getFullYear()),
      from: "",
      to: "",
      price: "",
      capacity: "15",
    };
  }
  return {
    title: program.title,
    description: program.description,
    direction: program.direction,
    age_min: String(program.age_min),
    age_max: String(program.age_max),
    municipality: program.municipality,
    address: program.address,
    schedule: program.schedule,
    period_id: program.period_id,
    from: program.months[0] ?? "",
    to: program.months[program.months.length - 1] ?? "",
    price: roublesText(program.price_per_month),
    capacity: String(program.capacity),
  };
}

/** The PATCH body: only what differs from the program as it is. */
function changesOf(program: ProgramOut, form: Form, price: number | null) {
  const changes: {
    title?: string;
    description?: string;
    address?: string;
    schedule?: string;
    price_per_month?: number;
    capacity?: number;
    months?: string[];
  } = {};
  if (form.title.trim() !== program.title) changes.title = form.title.trim();
  if (form.description.trim() !== program.description) changes.description = form.description.trim();
  if (form.address.trim() !== program.address) changes.address = form.address.trim();
  if (form.schedule.trim() !== program.schedule) changes.schedule = form.schedule.trim();
  if (price !== null && price !== program.price_per_month) changes.price_per_month = price;
  if (Number(form.capacity) !== program.capacity) changes.capacity = Number(form.capacity);
  const months = form.from && form.to ? monthsBetween(form.from, form.to) : null;
  if (months && months.join() !== program.months.join()) changes.months = months;
  return changes;
}

function ProgramForm({ program }: { program: ProgramOut | null }) {
  const { config } = useSession();
  const { provider } = useOwn();
  const [form, setForm] = useState<Form>(() =>
    formOf(program, provider?.municipality ?? "", provider?.contacts.address ?? ""),
  );
  const [saved, setSaved] = useState("");
  const keyed = useKeyed();
  const price = kopecksOf(form.price);
  const priceError = form.price.trim() && price === null ? "Укажите цену в рублях, например 1500 или 1500,50." : null;
  const agesError = Number(form.age_min) > Number(form.age_max) ? "Наименьший возраст больше наибольшего." : null;
  const monthsError = (form.from === "") !== (form.to === "") ? "Укажите оба месяца или ни одного." : form.from && form.to && form.from > form.to ? "Первый месяц позже последнего." : null;
  const changes = program ? changesOf(program, form, price) : null;
  const notice = program && changes ? certifiedTermsNotice(program, changes) : [];
  const save = useAction(async (draft: boolean) => {
    if (price === null || priceError || agesError || monthsError) return;
    if (!program) {
      await keyed((key) =>
        ok(
          api().POST("/programs", {
            params: { header: { "Idempotency-Key": key } },
            body: {
              title: form.title.trim(),
              description: form.description.trim(),
              direction: form.direction as "technical",
              age_min: Number(form.age_min),
              age_max: Number(form.age_max),
              municipality: form.municipality,
              address: form.address.trim(),
              schedule: form.schedule.trim(),
              period_id: form.period_id.trim(),
              months: form.from && form.to ? monthsBetween(form.from, form.to) : null,
              price_per_month: price,
              capacity: Number(form.capacity),
              draft,
            },
          }),
        ),
      );
      go(href.provider("programs"));
      return;
    }
    if (!changes || Object.keys(changes).length === 0) {
      setSaved("Изменений нет.");
      return;
    }
    const body = {
      title: changes.title ?? null,
      description: changes.description ?? null,
      address: changes.address ?? null,
      schedule: changes.schedule ?? null,
      price_per_month: changes.price_per_month ?? null,
      capacity: changes.capacity ?? null,
      months: changes.months ?? null,
    }; // null: unchanged
    await ok(api().PATCH("/programs/{program_id}", { params: { path: { program_id: program.program_id } }, body }));
    go(href.provider("programs"));
  });
  const set = (name: keyof Form) => (event: Event) => {
    setSaved("");
    setForm({ ...form, [name]: (event.currentTarget as HTMLInputElement).value });
  };
  const fixed = program !== null; // direction, ages, municipality and period are not edited (the API takes them once)
  return (
    <form
      class="panel program-form"
      onSubmit={(event) => {
        event.preventDefault();
        const submitter = (event as SubmitEvent).submitter as HTMLButtonElement | null;
        void save.run(submitter?.value === "draft");
      }}
    >
      {program?.status === "certified" && (
        <div class="notice" role="note">
          <p>
            <strong>Программа сертифицирована.</strong>{" "}
            Изменение цены, месяцев, названия или описания вернёт её на сертификацию; действующие договоры сохраняют свои
            условия.
          </p>
        </div>
      )}
      <div class="form-grid">
        <div class="field field-wide">
          <label for="p-title">Название</label>
          <input id="p-title" required maxLength={200} value={form.title} onInput={set("title")} />
        </div>
        <div class="field field-wide">
          <label for="p-description">Описание</label>
          <textarea id="p-description" required maxLength={5000} value={form.description} onInput={set("description")} />
        </div>
        <div class="field">
          <label for="p-direction">Направленность</label>
          <select id="p-direction" required disabled={fixed} value={form.direction} onChange={set("direction")}>
            <option value="">Выберите</option>
            {Object.entries(DIRECTIONS).map(([id, name]) => (
              <option key={id} value={id}>
                {name}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="p-municipality">Муниципалитет</label>
          <select id="p-municipality" required disabled={fixed} value={form.municipality} onChange={set("municipality")}>
            <option value="">Выберите</option>
            {Object.entries(config.municipalities).map(([id, name]) => (
              <option key={id} value={id}>
                {name}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="p-age-min">Возраст от (лет)</label>
          <input id="p-age-min" type="number" required min={5} max={17} disabled={fixed} value={form.age_min} onInput={set("age_min")} />
        </div>
        <div class="field">
          <label for="p-age-max">Возраст до (лет)</label>
          <input
            id="p-age-max"
            type="number"
            required
            min={5}
            max={17}
            disabled={fixed}
            value={form.age_max}
            onInput={set("age_max")}
            aria-describedby={agesError ? "p-ages-error" : undefined}
          />
          {agesError && (
            <span class="field-error" id="p-ages-error">
              {agesError}
            </span>
          )}
        </div>
        <div class="field field-wide">
          <label for="p-address">Адрес занятий</label>
          <input id="p-address" required maxLength={300} value={form.address} onInput={set("address")} />
        </div>
        <div class="field field-wide">
          <label for="p-schedule">Расписание</label>
          <input id="p-schedule" required maxLength={1000} placeholder="вт, чт 16:00–17:30" value={form.schedule} onInput={set("schedule")} />
        </div>
        <div class="field">
          <label for="p-price">Цена в месяц, ₽</label>
          <input
            id="p-price"
            required
            inputMode="decimal"
            autoComplete="off"
            placeholder="0 — бесплатно"
            value={form.price}
            onInput={set("price")}
            aria-invalid={priceError ? true : undefined}
            aria-describedby={priceError ? "p-price-error" : undefined}
          />
          {priceError && (
            <span class="field-error" id="p-price-error">
              {priceError}
            </span>
          )}
        </div>
        <div class="field">
          <label for="p-capacity">Мест</label>
          <input id="p-capacity" type="number" required min={1} max={10000} value={form.capacity} onInput={set("capacity")} />
        </div>
        <div class="field">
          <label for="p-period">Период</label>
          <input
            id="p-period"
            required
            maxLength={32}
            disabled={fixed}
            value={form.period_id}
            onInput={set("period_id")}
            aria-describedby={fixed ? undefined : "p-period-hint"}
          />
          {!fixed && (
            <span class="muted small" id="p-period-hint">
              Обычно календарный год, например {new Date().getFullYear()}
            </span>
          )}
        </div>
        <fieldset class="field field-wide months">
          <legend>Месяцы проведения (если не все месяцы периода)</legend>
          <div class="form-grid">
            <div class="field">
              <label for="p-from">С месяца</label>
              <input id="p-from" type="month" value={form.from} onInput={set("from")} />
            </div>
            <div class="field">
              <label for="p-to">По месяц</label>
              <input id="p-to" type="month" value={form.to} onInput={set("to")} aria-describedby={monthsError ? "p-months-error" : undefined} />
            </div>
          </div>
          {monthsError && (
            <span class="field-error" id="p-months-error">
              {monthsError}
            </span>
          )}
        </fieldset>
      </div>
      {notice.length > 0 && (
        <div class="notice notice-warn" role="note" data-testid="certified-terms">
          <p>
            <strong>Что значит это изменение</strong>
          </p>
          {notice.map((line) => (
            <p key={line}>{line}</p>
          ))}
        </div>
      )}
      <Failure failure={save.failure} retry={() => void save.run(false)} />
      {saved && (
        <p class="notice notice-ok" role="status">
          {saved}
        </p>
      )}
      <div class="actions">
        {program ? (
          <button type="submit" class="button" value="save" disabled={save.busy} aria-busy={save.busy}>
            {notice.length > 0 ? "Сохранить изменения условий" : "Сохранить"}
          </button>
        ) : (
          <>
            <button type="submit" class="button" value="publish" disabled={save.busy} aria-busy={save.busy}>
              Опубликовать
            </button>
            <button type="submit" class="button button-secondary" value="draft" disabled={save.busy}>
              Сохранить черновик
            </button>
          </>
        )}
        <a href={href.provider("programs")}>Отмена</a>
      </div>
    </form>
  );
}

export function ProgramEditPage({ id }: { id: string }) {
  const fresh = id === "new";
  const program = useLoad(
    async () => (fresh ? null : ok(api().GET("/programs/{program_id}", { params: { path: { program_id: id } } }))),
    [id],
  );
  const { config } = useSession();
  const p = program.data;
  return (
    <section>
      <p class="crumbs">
        <a href={href.provider("programs")}>← Программы</a>
      </p>
      <PageTitle>{fresh ? "Новая программа" : p ? p.title : "Программа"}</PageTitle>
      {p && (
        <p class="cert-meta">
          <Status of={p.status} words={PROGRAM_STATUS} />
          <span>
            {DIRECTIONS[p.direction] ?? p.direction}, {ages(p.age_min, p.age_max)}, {municipalityName(config.municipalities, p.municipality)},
            период {p.period_id}
          </span>
        </p>
      )}
      <Failure failure={program.failure} retry={program.reload} />
      {program.loading && program.data === undefined && <Loading />}
      {program.data !== undefined && <ProgramForm key={id} program={program.data} />}
    </section>
  );
}
