// What families said: objections to the provider's charges (an operator decides them; the provider reads the reason
// and the decision) and the ratings its programs received.
import { api, ok, type Objection } from "../../api";
import { Failure, Loading, PageTitle, useLoad } from "../../components";
import { date, money, month as monthName, OBJECTION_STATUS, plural } from "../../format";
import { href } from "../../router";
import { type Column, DataTable, everything, Status } from "../common";
import { useOwn } from "../index";
import { ownPrograms } from "./programs";

const OBJECTION_COLUMNS: Column<Objection>[] = [
  { label: "Программа", head: true, cell: (o) => o.program_title },
  { label: "Договор", cell: (o) => <a href={href.provider("contracts", o.contract_id)}>№ {o.contract_id}</a> },
  { label: "Месяц", cell: (o) => monthName(o.month) },
  { label: "Сумма", num: true, cell: (o) => money(o.amount) },
  { label: "Претензия родителя", wide: true, cell: (o) => <span class="prose">{o.reason}</span> },
  { label: "Подана", cell: (o) => date(o.filed_at) },
  { label: "Статус", cell: (o) => <Status of={o.status} words={OBJECTION_STATUS} /> },
  {
    label: "Решение оператора",
    wide: true,
    cell: (o) =>
      o.decision_reason ? (
        <span class="prose">
          {o.decision_reason}
          {o.status === "upheld" && " Списание возвращено на сертификат."}
        </span>
      ) : (
        "—"
      ),
  },
];

function Ratings() {
  const { inn, provider } = useOwn();
  const rated = useLoad(async () => {
    const programs = (await ownPrograms(inn)).filter((p) => p.rating.count > 0);
    const pages = await Promise.all(
      programs.map((p) => ok(api().GET("/programs/{program_id}/ratings", { params: { path: { program_id: p.program_id }, query: { limit: 5 } } }))),
    );
    return programs.map((program, i) => ({ program, ratings: pages[i]?.ratings ?? [] }));
  }, [inn]);
  const overall = provider?.rating;
  return (
    <section class="panel" aria-labelledby="ratings-title">
      <h2 id="ratings-title">Оценки родителей</h2>
      {overall && overall.count > 0 && overall.average !== null ? (
        <p>
          Средняя оценка организации: <strong>{overall.average.toFixed(1).replace(".", ",")}</strong> из 5 ({overall.count}{" "}
          {plural(overall.count, "оценка", "оценки", "оценок")}).
        </p>
      ) : (
        <p class="muted">Оценок пока нет.</p>
      )}
      <Failure failure={rated.failure} retry={rated.reload} />
      {!rated.data && rated.loading && <Loading />}
      {rated.data?.map(({ program, ratings }) => (
        <article key={program.program_id} class="rated">
          <h3>
            <a href={href.program(program.program_id)}>{program.title}</a>
          </h3>
          <p class="muted small">
            {program.rating.average?.toFixed(1).replace(".", ",")} из 5 · {program.rating.count}{" "}
            {plural(program.rating.count, "оценка", "оценки", "оценок")}
          </p>
          <ul class="ratings">
            {ratings.map((rating, index) => (
              <li key={index}>
                <p class="stars" aria-label={`Оценка ${rating.score} из 5`}>
                  {"★".repeat(rating.score)}
                  <span class="stars-off">{"★".repeat(5 - rating.score)}</span>
                </p>
                {rating.comment && <p>{rating.comment}</p>}
                <p class="muted small">{date(rating.rated_on)}</p>
              </li>
            ))}
          </ul>
        </article>
      ))}
    </section>
  );
}

export function FeedbackPage() {
  const objections = useLoad(
    () =>
      everything(async (cursor) => {
        const page = await ok(api().GET("/objections", { params: { query: cursor ? { limit: 100, cursor } : { limit: 100 } } }));
        return { items: page.objections, cursor: page.cursor };
      }),
    [],
  );
  const items = objections.data?.items ?? [];
  const open = items.filter((o) => o.status === "open").length;
  return (
    <section>
      <PageTitle>Отзывы и претензии</PageTitle>
      <section class="panel" aria-labelledby="objections-title">
        <h2 id="objections-title">Претензии к списаниям</h2>
        <p class="muted">
          Родитель может оспорить списание в течение 14 дней. Решение принимает оператор муниципалитета: если он
          удовлетворит претензию, сумма вернётся на сертификат, а месяц больше не списывается.
        </p>
        <Failure failure={objections.failure} retry={objections.reload} />
        {!objections.data && objections.loading && <Loading />}
        {objections.data && items.length === 0 && <p>Претензий нет.</p>}
        {open > 0 && (
          <p class="notice">
            {open} {plural(open, "претензия ждёт", "претензии ждут", "претензий ждут")} решения оператора.
          </p>
        )}
        {items.length > 0 && <DataTable caption="Список претензий" columns={OBJECTION_COLUMNS} rows={items} rowKey={(o) => o.id} />}
      </section>
      <Ratings />
    </section>
  );
}
