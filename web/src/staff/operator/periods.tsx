// Periods: the running one (and the next, when opened) with its nominal, age nominals and quotas per municipality,
// the top-up's progress followed live while it runs (the regional operator runs or resumes it: the API works about
// 20 s a request and answers 202 when not finished, so the page posts again until it is done), the children
// population per municipality (the coverage shares' denominator), and opening a period (the regional operator).
import { useEffect, useRef, useState } from "preact/hooks";
import { api, ok, Refusal } from "../../api";
import { Failure, Loading, PageTitle, useAction, useKeyed, useLoad } from "../../components";
import { date, money, municipalityName } from "../../format";
import { useSession } from "../../session";
import { type Column, DataTable, isRegional, kopecksOf, municipalitiesOf, type Period, Status } from "../common";

const POLL_MS = 2000;
const TOPUP_STATUS: Record<string, string> = { not_started: "Не запускалось", running: "Идёт", done: "Завершено" };

async function period(id: string): Promise<Period | null> {
  try {
    return await ok(api().GET("/periods/{period_id}", { params: { path: { period_id: id } } }));
  } catch (failure) {
    if (failure instanceof Refusal && failure.code === "period_not_found") return null;
    throw failure;
  }
}

// --- the top-up --------------------------------------------------------------------------------------------------

/** The top-up's progress: the share of scan segments done, and what it moved. */
function TopupFigures({ topup: t }: { topup: Period["topup"] }) {
  const share = t.segments ? t.segments_done / t.segments : 0;
  return (
    <>
      <div
        class="progress"
        role="progressbar"
        aria-label="Ход пополнения"
        aria-valuemin={0}
        aria-valuemax={t.segments}
        aria-valuenow={t.segments_done}
        aria-valuetext={`${t.segments_done} из ${t.segments} частей`}
      >
        <span style={{ width: `${Math.round(100 * share)}%` }} />
      </div>
      <dl class="facts" data-testid="topup">
        <div>
          <dt>Частей пройдено</dt>
          <dd>
            {t.segments_done} из {t.segments}
          </dd>
        </div>
        <div>
          <dt>Пополнено сертификатов</dt>
          <dd>{t.certificates_credited}</dd>
        </div>
        <div>
          <dt>Зачислено</dt>
          <dd>{money(t.credited_kopecks)}</dd>
        </div>
        <div>
          <dt>Сгорело остатков</dt>
          <dd>{money(t.expired_kopecks)}</dd>
        </div>
        <div>
          <dt>Сверх лимита</dt>
          <dd>{t.certificates_over_quota}</dd>
        </div>
        <div>
          <dt>Исполнилось 18</dt>
          <dd>{t.certificates_aged_out}</dd>
        </div>
      </dl>
      {t.rolled_on_touch > 0 && (
        <p class="muted small">
          Из них {t.rolled_on_touch} пополнены при первом обращении к сертификату, до того как до них дошло задание.
        </p>
      )}
    </>
  );
}

function Topup({ initial }: { initial: Period }) {
  const { person } = useSession();
  const [state, setState] = useState(initial);
  const [running, setRunning] = useState(false);
  const stop = useRef(false);
  const keyed = useKeyed();
  const t = state.topup;
  const live = running || t.status === "running";
  const started = new Date(state.starts_at_utc).getTime() <= Date.now();
  useEffect(() => {
    if (!live) return;
    const timer = setInterval(() => {
      void period(state.period_id).then((fresh) => fresh && setState(fresh), () => undefined);
    }, POLL_MS);
    return () => clearInterval(timer);
  }, [live, state.period_id]);
  const run = useAction(async () => {
    stop.current = false;
    setRunning(true);
    try {
      for (;;) {
        const { data, response } = await keyed(async (key) => {
          const answer = await api().POST("/periods/{period_id}/topup", {
            params: { path: { period_id: state.period_id }, header: { "Idempotency-Key": key } },
          });
          await ok(Promise.resolve(answer));
          return answer;
        });
        if (data) setState(data);
        if (response.status !== 202 || stop.current) break; // 200: complete; 202: stopped at its time budget
      }
    } finally {
      setRunning(false);
    }
  });
  return (
    <section class="panel" aria-labelledby={`topup-${state.period_id}`}>
      <h3 id={`topup-${state.period_id}`}>Пополнение сертификатов</h3>
      <p>
        <Status of={t.status} words={TOPUP_STATUS} /> <span class="muted small">{live ? "обновляется каждые 2 секунды" : ""}</span>
      </p>
      {started && <TopupFigures topup={t} />}
      <Failure failure={run.failure} retry={() => void run.run()} />
      {started && isRegional(person) && t.status !== "done" && (
        <div class="actions">
          <button type="button" class="button" onClick={() => void run.run()} disabled={running} aria-busy={running}>
            {t.status === "not_started" ? "Запустить пополнение" : "Продолжить пополнение"}
          </button>
          {running && (
            <button type="button" class="button button-secondary" onClick={() => (stop.current = true)}>
              Остановить после текущей части
            </button>
          )}
        </div>
      )}
      {!started && <p class="muted">Пополнение начнётся само в первый день периода: {date(state.starts_on)}</p>}
      {started && !isRegional(person) && t.status !== "done" && <p class="muted">Пополнение запускает региональный оператор.</p>}
    </section>
  );
}

// --- one period ----------------------------------------------------------------------------------------------------

type QuotaRow = Period["quotas"][number];

function Population({ periodId }: { periodId: string }) {
  const { config, person } = useSession();
  const places = municipalitiesOf(person, config);
  const saved = useLoad(
    async () => (await ok(api().GET("/periods/{period_id}/population", { params: { path: { period_id: periodId } } }))).children_population,
    [periodId],
  );
  const [typed, setTyped] = useState<Record<string, string>>({});
  const [said, setSaid] = useState("");
  const keyed = useKeyed();
  const value = (m: string) => typed[m] ?? (saved.data?.[m] !== undefined ? String(saved.data[m]) : "");
  const save = useAction(async () => {
    const body: Record<string, number> = {};
    for (const m of places) if (value(m).trim() !== "") body[m] = Number(value(m));
    if (Object.keys(body).length === 0) return;
    await keyed((key) =>
      ok(
        api().PUT("/periods/{period_id}/population", {
          params: { path: { period_id: periodId }, header: { "Idempotency-Key": key } },
          body: { children_population: body },
        }),
      ),
    );
    setTyped({});
    setSaid("Численность сохранена: доли охвата в отчётах считаются от неё.");
    saved.reload();
  });
  return (
    <section class="panel" aria-labelledby={`population-${periodId}`}>
      <h3 id={`population-${periodId}`}>Численность детей 5–18 лет</h3>
      <p class="muted">От неё считаются доли охвата в отчётах.</p>
      <Failure failure={saved.failure} retry={saved.reload} />
      {!saved.data && saved.loading && <Loading />}
      {saved.data && (
        <form
          onSubmit={(event) => {
            event.preventDefault();
            void save.run();
          }}
        >
          <div class="form-grid">
            {places.map((m) => (
              <div class="field" key={m}>
                <label for={`population-${periodId}-${m}`}>{municipalityName(config.municipalities, m)}</label>
                <input
                  id={`population-${periodId}-${m}`}
                  type="number"
                  min={0}
                  max={10000000}
                  inputMode="numeric"
                  value={value(m)}
                  onInput={(e) => {
                    setSaid("");
                    setTyped({ ...typed, [m]: e.currentTarget.value });
                  }}
                />
              </div>
            ))}
          </div>
          <Failure failure={save.failure} retry={() => void save.run()} />
          {said && (
            <p class="notice notice-ok" role="status">
              {said}
            </p>
          )}
          <button type="submit" class="button button-secondary" disabled={save.busy} aria-busy={save.busy}>
            Сохранить численность
          </button>
        </form>
      )}
    </section>
  );
}

function PeriodCard({ period: p, title }: { period: Period; title: string }) {
  const { config } = useSession();
  const columns: Column<QuotaRow>[] = [
    { label: "Муниципалитет", head: true, cell: (q) => municipalityName(config.municipalities, q.municipality) },
    { label: "Лимит", num: true, cell: (q) => q.quota.toLocaleString("ru-RU") },
    { label: "Выдано", num: true, cell: (q) => q.funded.toLocaleString("ru-RU") },
    { label: "Осталось", num: true, cell: (q) => q.remaining.toLocaleString("ru-RU") },
    {
      label: "Использовано",
      cell: (q) => (
        <span class="meter" title={`${q.quota ? Math.round((100 * q.funded) / q.quota) : 0} %`}>
          <span class="meter-bar" aria-hidden="true">
            <span style={{ width: `${q.quota ? Math.min(100, (100 * q.funded) / q.quota) : 0}%` }} />
          </span>
          {q.quota ? `${Math.round((100 * q.funded) / q.quota)} %` : "—"}
        </span>
      ),
    },
  ];
  return (
    <article class="period" data-period={p.period_id}>
      <h2>
        {title}: {p.period_id}
      </h2>
      <div class="two-columns">
        <div>
          <section class="panel" aria-labelledby={`terms-${p.period_id}`}>
            <h3 id={`terms-${p.period_id}`}>Условия</h3>
            <dl class="facts">
              <div>
                <dt>Срок</dt>
                <dd>
                  {date(p.starts_on)} — {date(p.ends_on)}
                </dd>
              </div>
              <div>
                <dt>Номинал</dt>
                <dd>{money(p.nominal)}</dd>
              </div>
              {p.age_nominals.map((a) => (
                <div key={`${a.age_min}-${a.age_max}`}>
                  <dt>
                    Номинал, {a.age_min}–{a.age_max} лет
                  </dt>
                  <dd>{money(a.nominal)}</dd>
                </div>
              ))}
            </dl>
            <h4>Лимиты сертификатов финансирования</h4>
            <DataTable caption={`Лимиты периода ${p.period_id}`} columns={columns} rows={p.quotas} rowKey={(q) => q.municipality} />
          </section>
          <Population periodId={p.period_id} />
        </div>
        <Topup initial={p} />
      </div>
    </article>
  );
}

// --- opening a period (the regional operator) ----------------------------------------------------------------------

function OpenPeriod({ opened }: { opened: (p: Period) => void }) {
  const { config } = useSession();
  const year = new Date().getFullYear() + 2;
  const [form, setForm] = useState({ period_id: String(year), starts_on: `${year}-01-01`, ends_on: `${year}-12-31`, nominal: "24000" });
  const [bands, setBands] = useState<{ age_min: string; age_max: string; nominal: string }[]>([]);
  const [quotas, setQuotas] = useState<Record<string, string>>({});
  const keyed = useKeyed();
  const nominal = kopecksOf(form.nominal);
  const open = useAction(async () => {
    if (nominal === null || nominal <= 0) return;
    const made = await keyed((key) =>
      ok(
        api().POST("/periods", {
          params: { header: { "Idempotency-Key": key } },
          body: {
            period_id: form.period_id.trim(),
            starts_on: form.starts_on,
            ends_on: form.ends_on,
            nominal,
            age_nominals: bands.map((b) => ({ age_min: Number(b.age_min), age_max: Number(b.age_max), nominal: kopecksOf(b.nominal) ?? 0 })),
            quotas: Object.fromEntries(Object.entries(quotas).filter(([, n]) => n.trim() !== "").map(([m, n]) => [m, Number(n)])),
          },
        }),
      ),
    );
    opened(made);
  });
  const set = (name: keyof typeof form) => (event: Event) => setForm({ ...form, [name]: (event.currentTarget as HTMLInputElement).value });
  const noQuota = Object.values(quotas).every((n) => n.trim() === "");
  return (
    <form
      class="panel"
      aria-labelledby="open-title"
      onSubmit={(event) => {
        event.preventDefault();
        if (!noQuota) void open.run();
      }}
    >
      <h2 id="open-title">Открыть период</h2>
      <p class="muted">
        Периоды не пересекаются и идут целыми месяцами. В первый день периода сертификаты финансирования пополняются до
        номинала, остаток прошлого периода сгорает.
      </p>
      <div class="form-grid">
        <div class="field">
          <label for="o-id">Код периода</label>
          <input id="o-id" required maxLength={32} value={form.period_id} onInput={set("period_id")} />
        </div>
        <div class="field">
          <label for="o-nominal">Номинал, ₽ в год</label>
          <input id="o-nominal" required inputMode="decimal" value={form.nominal} onInput={set("nominal")} />
        </div>
        <div class="field">
          <label for="o-starts">Начало</label>
          <input id="o-starts" type="date" required value={form.starts_on} onInput={set("starts_on")} />
        </div>
        <div class="field">
          <label for="o-ends">Окончание</label>
          <input id="o-ends" type="date" required value={form.ends_on} onInput={set("ends_on")} />
        </div>
      </div>
      <fieldset>
        <legend>Номинал по возрасту (возраст на начало периода)</legend>
        {bands.map((band, i) => (
          <div class="form-grid band" key={i}>
            {(["age_min", "age_max", "nominal"] as const).map((name) => (
              <div class="field" key={name}>
                <label for={`band-${i}-${name}`}>{name === "age_min" ? "С возраста" : name === "age_max" ? "По возраст" : "Номинал, ₽"}</label>
                <input
                  id={`band-${i}-${name}`}
                  required
                  inputMode="numeric"
                  value={band[name]}
                  onInput={(e) => setBands(bands.map((b, j) => (j === i ? { ...b, [name]: e.currentTarget.value } : b)))}
                />
              </div>
            ))}
            <button type="button" class="link-button danger" onClick={() => setBands(bands.filter((_, j) => j !== i))}>
              Убрать группу {i + 1}
            </button>
          </div>
        ))}
        <button type="button" class="button button-secondary" onClick={() => setBands([...bands, { age_min: "14", age_max: "17", nominal: "" }])}>
          Добавить возрастную группу
        </button>
      </fieldset>
      <fieldset>
        <legend>Лимиты сертификатов финансирования по муниципалитетам</legend>
        <div class="form-grid">
          {Object.entries(config.municipalities).map(([m, name]) => (
            <div class="field" key={m}>
              <label for={`quota-${m}`}>{name}</label>
              <input
                id={`quota-${m}`}
                type="number"
                min={0}
                max={10000000}
                value={quotas[m] ?? ""}
                onInput={(e) => setQuotas({ ...quotas, [m]: e.currentTarget.value })}
              />
            </div>
          ))}
        </div>
        {noQuota && <p class="muted small">Укажите лимит хотя бы одного муниципалитета.</p>}
      </fieldset>
      <Failure failure={open.failure} retry={() => void open.run()} />
      <button type="submit" class="button" disabled={open.busy || noQuota} aria-busy={open.busy}>
        Открыть период
      </button>
    </form>
  );
}

// --- the page ----------------------------------------------------------------------------------------------------

export function PeriodsPage() {
  const { person } = useSession();
  const [opened, setOpened] = useState<Period[]>([]);
  const [lookup, setLookup] = useState("");
  const [looked, setLooked] = useState<string | null>(null);
  const known = useLoad(async () => {
    // The running period is the reports' default: the quota report names it.
    let runningId: string;
    try {
      const quota = await ok(api().GET("/reports/quota", { params: { query: {} } }));
      if (typeof quota === "string") throw new Refusal(406, "not_acceptable", "expected JSON");
      runningId = quota.period_id;
    } catch (failure) {
      if (failure instanceof Refusal && failure.code === "no_open_period") return { running: null, next: null };
      throw failure;
    }
    const running = await period(runningId);
    const next = /^\d{4}$/.test(runningId) ? await period(String(Number(runningId) + 1)) : null;
    return { running, next };
  }, []);
  const other = useLoad(async () => (looked ? period(looked) : null), [looked]);
  const shown = [
    ...(known.data?.running ? [{ period: known.data.running, title: "Текущий период" }] : []),
    ...(known.data?.next ? [{ period: known.data.next, title: "Следующий период" }] : []),
    ...opened.map((p) => ({ period: p, title: "Открыт сейчас" })),
    ...(other.data ? [{ period: other.data, title: "Период" }] : []),
  ].filter((item, i, all) => all.findIndex((x) => x.period.period_id === item.period.period_id) === i);
  return (
    <section>
      <PageTitle>Периоды</PageTitle>
      <Failure failure={known.failure} retry={known.reload} />
      {!known.data && known.loading && <Loading />}
      {known.data && !known.data.running && <p>Сейчас нет действующего периода.</p>}
      {shown.map(({ period: p, title }) => (
        <PeriodCard key={p.period_id} period={p} title={title} />
      ))}
      {known.data?.running && !known.data.next && (
        <p class="muted">
          Следующий период ({/^\d{4}$/.test(known.data.running.period_id) ? Number(known.data.running.period_id) + 1 : "…"}) ещё не
          открыт.
        </p>
      )}
      <form
        class="filters filters-compact period-search"
        role="search"
        onSubmit={(event) => {
          event.preventDefault();
          if (lookup.trim()) setLooked(lookup.trim());
        }}
      >
        <div class="field">
          <label for="period-lookup">Найти период по коду</label>
          <input id="period-lookup" maxLength={32} value={lookup} onInput={(e) => setLookup(e.currentTarget.value)} />
        </div>
        <div class="actions">
          <button type="submit" class="button button-secondary">
            Показать
          </button>
        </div>
      </form>
      {looked && other.data === null && <p class="notice">Период «{looked}» не найден.</p>}
      <Failure failure={other.failure} retry={other.reload} />
      {isRegional(person) ? (
        <OpenPeriod opened={(p) => setOpened((list) => [...list, p])} />
      ) : (
        <p class="muted">Периоды открывает региональный оператор. Численность детей вашего муниципалитета задаётся здесь.</p>
      )}
    </section>
  );
}
