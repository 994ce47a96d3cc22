// A program's page: what it is, where and when, its price and free seats, its ratings; and enrolment.
//
// Enrolment sends POST /contracts with an Idempotency-Key made once per attempt: a double click, the "Повторить"
// after a network failure or the client's own retry of a 503 all carry the same key, so the API makes one contract
// (it answers a repeat with the first answer). A new key is made only for a new attempt: another child, or after
// the API answered (a contract, or a refusal).
import { useRef, useState } from "preact/hooks";
import { api, type Child, type Contract, newKey, ok, type Rating, Refusal } from "../api";
import { Failure, Loading, PageTitle, useAction, useLoad } from "../components";
import { retryable } from "../errors";
import { ages, CERTIFICATE_STATUS, date, DIRECTIONS, money, municipalityName, plural, seats } from "../format";
import { href } from "../router";
import { useSession } from "../session";

function Ratings({ id }: { id: string }) {
  const [pages, setPages] = useState<{ ratings: Rating[]; cursor: string | null } | null>(null);
  const first = useLoad(async () => {
    const page = await ok(api().GET("/programs/{program_id}/ratings", { params: { path: { program_id: id }, query: { limit: 5 } } }));
    setPages({ ratings: page.ratings, cursor: page.cursor });
    return page;
  }, [id]);
  const more = useAction(async () => {
    if (!pages?.cursor) return;
    const page = await ok(
      api().GET("/programs/{program_id}/ratings", { params: { path: { program_id: id }, query: { limit: 5, cursor: pages.cursor } } }),
    );
    setPages({ ratings: [...pages.ratings, ...page.ratings], cursor: page.cursor });
  });
  const summary = first.data?.rating;
  return (
    <section class="panel" aria-labelledby="ratings-title">
      <h2 id="ratings-title">Оценки родителей</h2>
      <Failure failure={first.failure} retry={first.reload} />
      {first.loading && !pages && <Loading />}
      {summary && (
        <p>
          {summary.count === 0 || summary.average === null
            ? "Программу ещё не оценивали."
            : `Средняя оценка ${summary.average.toFixed(1).replace(".", ",")} из 5 (${summary.count} ${plural(summary.count, "оценка", "оценки", "оценок")}).`}
        </p>
      )}
      {pages && pages.ratings.length > 0 && (
        <ul class="ratings">
          {pages.ratings.map((rating, index) => (
            <li key={index}>
              <p class="stars" aria-label={`Оценка ${rating.score} из 5`}>
                {"★".repeat(rating.score)}
                <span class="stars-off">{"★".repeat(5 - rating.score)}</span>
              </p>
              {rating.comment && <p>{rating.comment}</p>}
              <p class="muted">{date(rating.rated_on)}</p>
            </li>
          ))}
        </ul>
      )}
      <Failure failure={more.failure} retry={() => void more.run()} />
      {pages?.cursor && (
        <button type="button" class="button button-secondary" onClick={() => void more.run()} disabled={more.busy}>
          Ещё оценки
        </button>
      )}
    </section>
  );
}

function Enrol({ programId, price, seatsChanged }: { programId: string; price: number; seatsChanged: () => void }) {
  const children = useLoad(async () => (await ok(api().GET("/children"))).children, []);
  const [chosen, setChosen] = useState("");
  const [made, setMade] = useState<{ contract: Contract; child: Child } | null>(null);
  const attempt = useRef<{ certificate: string; key: string } | null>(null);
  const enrol = useAction(async (certificateId: string) => {
    if (attempt.current?.certificate !== certificateId) attempt.current = { certificate: certificateId, key: newKey() };
    const key = attempt.current.key;
    try {
      const contract = await ok(
        api().POST("/contracts", {
          body: { certificate_id: certificateId, program_id: programId },
          params: { header: { "Idempotency-Key": key } },
        }),
      );
      const child = children.data?.find((c) => c.certificate.id === certificateId);
      if (child) setMade({ contract, child });
      attempt.current = null;
    } catch (failure) {
      if (!retryable(failure)) attempt.current = null; // answered: the next click is a new attempt
      if (failure instanceof Refusal && failure.code === "no_seats") seatsChanged();
      throw failure;
    }
  });
  if (children.failure) return <Failure failure={children.failure} retry={children.reload} />;
  if (!children.data) return <Loading />;
  const usable = children.data.filter((c) => c.certificate.status === "funded" || c.certificate.status === "accounting");
  if (made) {
    const { contract, child } = made;
    return (
      <div class="notice notice-ok" role="status">
        <p>
          <strong>Заявка отправлена поставщику.</strong> {child.full_name}: договор № {contract.id}.
        </p>
        <p>
          {contract.hold > 0
            ? `На сертификате зарезервировано ${money(contract.hold)} — ${contract.months.length} ${plural(contract.months.length, "месяц", "месяца", "месяцев")} по ${money(contract.price_per_month)}. Деньги спишутся помесячно, когда поставщик отметит занятия.`
            : "Программа бесплатная: деньги сертификата не резервируются."}
        </p>
        <p class="links">
          <a href={href.certificate(child.certificate.id)}>Кабинет сертификата</a>
          <a href={href.contracts()}>Мои договоры</a>
        </p>
      </div>
    );
  }
  if (usable.length === 0) {
    return (
      <p>
        Чтобы записать ребёнка, сначала <a href={href.children()}>добавьте его и получите сертификат</a>.
      </p>
    );
  }
  const submit = (event: Event) => {
    event.preventDefault();
    if (chosen) void enrol.run(chosen);
  };
  return (
    <form onSubmit={submit} class="enrol-form">
      <fieldset>
        <legend>Кого записываем</legend>
        {usable.map((child) => (
          <label key={child.certificate.id} class="choice">
            <input
              type="radio"
              name="child"
              value={child.certificate.id}
              checked={chosen === child.certificate.id}
              onChange={() => {
                setChosen(child.certificate.id);
                enrol.clear();
              }}
            />
            <span class="choice-text">
              <strong>{child.full_name}</strong>
              <span class="muted small">
                {CERTIFICATE_STATUS[child.certificate.status] ?? child.certificate.status}
                {child.certificate.status === "funded" && `, доступно ${money(child.certificate.balance.available)}`}
              </span>
            </span>
          </label>
        ))}
      </fieldset>
      {price > 0 && <p class="muted">Стоимость резервируется на сертификате на все оставшиеся месяцы программы.</p>}
      <Failure failure={enrol.failure} retry={() => void enrol.run(chosen)} />
      <button type="submit" class="button" disabled={!chosen || enrol.busy} aria-busy={enrol.busy}>
        {enrol.busy ? "Записываем…" : "Записать ребёнка"}
      </button>
    </form>
  );
}

export function ProgramPage({ id }: { id: string }) {
  const { config, person } = useSession();
  const program = useLoad(() => ok(api().GET("/programs/{program_id}", { params: { path: { program_id: id } } })), [id]);
  if (program.failure) {
    return (
      <section>
        <PageTitle>Программа</PageTitle>
        <Failure failure={program.failure} retry={program.reload} />
        <p>
          <a href={href.catalog()}>← В каталог</a>
        </p>
      </section>
    );
  }
  const p = program.data;
  if (!p) return <Loading what="Загружаем программу…" />;
  return (
    <article class="program">
      <p class="crumbs">
        <a href={href.catalog()}>← Каталог</a>
      </p>
      <div class="card-top">
        <span class="tag">{DIRECTIONS[p.direction] ?? p.direction}</span>
        {p.status === "certified" && <span class="tag tag-ok">Оплата сертификатом</span>}
      </div>
      <PageTitle>{p.title}</PageTitle>
      <p class="provider">{p.provider_name}</p>
      <div class="program-grid">
        <div>
          <p class="description">{p.description}</p>
          <dl class="facts facts-wide">
            <div>
              <dt>Возраст</dt>
              <dd>{ages(p.age_min, p.age_max)}</dd>
            </div>
            <div>
              <dt>Стоимость</dt>
              <dd>{p.price_per_month === 0 ? "Бесплатно" : `${money(p.price_per_month)} в месяц`}</dd>
            </div>
            <div>
              <dt>Свободные места</dt>
              <dd data-testid="free-seats">
                {seats(p.free_seats)} из {p.capacity}
              </dd>
            </div>
            <div>
              <dt>Адрес</dt>
              <dd>{p.address}</dd>
            </div>
            <div>
              <dt>Расписание</dt>
              <dd>{p.schedule}</dd>
            </div>
            <div>
              <dt>Муниципалитет</dt>
              <dd>{municipalityName(config.municipalities, p.municipality)}</dd>
            </div>
          </dl>
        </div>
        <section class="panel enrol" aria-labelledby="enrol-title">
          <h2 id="enrol-title">Записаться</h2>
          {p.free_seats === 0 && <p class="warn">Сейчас свободных мест нет.</p>}
          {!person && (
            <p>
              Чтобы записать ребёнка, <a href={href.signIn(href.program(id))}>войдите</a>.
            </p>
          )}
          {person?.role === "parent" && <Enrol programId={p.program_id} price={p.price_per_month} seatsChanged={program.reload} />}
          {person && person.role !== "parent" && <p>Записывать детей могут только родители.</p>}
        </section>
      </div>
      <Ratings id={p.program_id} />
    </article>
  );
}
