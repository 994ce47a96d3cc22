// Objections to charges, as an operator decides them: the queue of the operator's municipality (the regional
// operator: every one, or one) by status, the parent's reason, and the decision with a reason. Upheld: the charge is
// reversed with a new ledger entry (the money returns to the certificate, or expires if its period is over) and the
// month is never charged again; rejected: the charge stands.
import { useState } from "preact/hooks";
import { api, type Objection, ok } from "../../api";
import { Failure, Loading, PageTitle, useKeyed, useLoad } from "../../components";
import { date, money, month as monthName, municipalityName, OBJECTION_STATUS, plural } from "../../format";
import { href } from "../../router";
import { useSession } from "../../session";
import { acrossMunicipalities, Choice, everything, MunicipalityFilter, ReasonForm, Status } from "../common";

type Queue = "open" | "upheld" | "rejected";
const QUEUES: readonly (readonly [Queue, string])[] = [
  ["open", "На рассмотрении"],
  ["upheld", "Удовлетворены"],
  ["rejected", "Отклонены"],
];

function ObjectionCard({ objection: o, decided }: { objection: Objection; decided: (text: string) => void }) {
  const { config } = useSession();
  const [verdict, setVerdict] = useState<"uphold" | "reject" | null>(null);
  const keyed = useKeyed();
  return (
    <li class="card" data-objection={o.id}>
      <div class="card-top">
        <Status of={o.status} words={OBJECTION_STATUS} />
        <span class="muted small">подана {date(o.filed_at)}</span>
      </div>
      <h3>
        {o.program_title}: {monthName(o.month)}, {money(o.amount)}
      </h3>
      <dl class="facts">
        <div>
          <dt>Поставщик</dt>
          <dd>
            <a href={href.operator("providers", o.provider_id)}>ИНН {o.provider_id}</a>
          </dd>
        </div>
        <div>
          <dt>Сертификат</dt>
          <dd class="number">{o.certificate_id}</dd>
        </div>
        <div>
          <dt>Договор</dt>
          <dd class="number">{o.contract_id}</dd>
        </div>
        <div>
          <dt>Муниципалитет</dt>
          <dd>{municipalityName(config.municipalities, o.municipality)}</dd>
        </div>
      </dl>
      <blockquote class="quote">
        <p>{o.reason}</p>
        <footer class="muted small">Претензия родителя; списание {date(o.charged_at)}</footer>
      </blockquote>
      {o.decision_reason && (
        <p class="reason">
          <strong>Решение:</strong> {o.decision_reason}
          {o.returned_to === "available" && " Сумма возвращена на сертификат."}
          {o.returned_to === "expired" && " Период завершён: возвращённая сумма сгорела."}
        </p>
      )}
      {o.status === "open" &&
        (verdict ? (
          <ReasonForm
            id={`verdict-${o.id}`}
            label={verdict === "uphold" ? "Почему претензия обоснована (увидят родитель и поставщик)" : "Почему претензия отклонена (увидят родитель и поставщик)"}
            submit={verdict === "uphold" ? "Удовлетворить: вернуть списание" : "Отклонить претензию"}
            tone={verdict === "uphold" ? "button" : "button button-danger"}
            onSubmit={async (reason) => {
              const answer = await keyed((key) =>
                ok(
                  api().POST("/objections/{objection_id}/decision", {
                    params: { path: { objection_id: o.id }, header: { "Idempotency-Key": key } },
                    body: { decision: verdict, reason },
                  }),
                ),
              );
              decided(
                answer.status === "upheld"
                  ? `Претензия по «${o.program_title}» за ${monthName(o.month)} удовлетворена: ${money(o.amount)} возвращено.`
                  : `Претензия по «${o.program_title}» за ${monthName(o.month)} отклонена.`,
              );
            }}
            onCancel={() => setVerdict(null)}
          />
        ) : (
          <div class="actions card-bottom">
            <button type="button" class="button" onClick={() => setVerdict("uphold")}>
              Удовлетворить…
            </button>
            <button type="button" class="button button-secondary" onClick={() => setVerdict("reject")}>
              Отклонить…
            </button>
          </div>
        ))}
    </li>
  );
}

export function ObjectionsPage() {
  const { config, person } = useSession();
  const [status, setStatus] = useState<Queue>("open");
  const [municipality, setMunicipality] = useState("");
  const [said, setSaid] = useState("");
  const queue = useLoad(
    () =>
      acrossMunicipalities(person, config, municipality, async (place) => {
        const { items } = await everything(async (cursor) => {
          const query = { status, municipality: place, limit: 100, ...(cursor ? { cursor } : {}) };
          const page = await ok(api().GET("/objections", { params: { query } }));
          return { items: page.objections, cursor: page.cursor };
        });
        return items;
      }),
    [status, municipality],
  );
  const list = [...(queue.data ?? [])].sort((a, b) => a.filed_at.localeCompare(b.filed_at));
  return (
    <section>
      <PageTitle>Претензии</PageTitle>
      <div class="toolbar">
        <Choice label="Какие претензии" value={status} options={QUEUES} onChange={setStatus} />
        <MunicipalityFilter value={municipality} onChange={setMunicipality} />
      </div>
      {said && (
        <p class="notice notice-ok" role="status">
          {said}
        </p>
      )}
      <Failure failure={queue.failure} retry={queue.reload} />
      {!queue.data && queue.loading && <Loading />}
      {queue.data && list.length === 0 && <p>{status === "open" ? "Претензий на рассмотрении нет." : "Таких претензий нет."}</p>}
      {list.length > 0 && (
        <>
          <p class="muted">
            {list.length} {plural(list.length, "претензия", "претензии", "претензий")}
            {status === "open" && ", сначала поданные раньше"}
          </p>
          <ul class="cards cards-single">
            {list.map((objection) => (
              <ObjectionCard
                key={objection.id}
                objection={objection}
                decided={(text) => {
                  setSaid(text);
                  queue.reload();
                }}
              />
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
