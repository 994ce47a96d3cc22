// The provider registry as an operator keeps it: the queue of applications (and the providers in each status) of the
// operator's municipality (the regional operator: every one, or one), and a provider's review: its details, its
// documents opened in the browser, its programs, and the decision with a reason (approve or reject an application;
// suspend or reinstate a provider).
import { useState } from "preact/hooks";
import { api, ok } from "../../api";
import { Failure, Loading, PageTitle, useKeyed, useLoad } from "../../components";
import { date, money, municipalityName, plural } from "../../format";
import { href } from "../../router";
import { useSession } from "../../session";
import {
  acrossMunicipalities,
  Choice,
  type Column,
  DataTable,
  everything,
  MunicipalityFilter,
  PROGRAM_STATUS,
  PROVIDER_KIND,
  PROVIDER_STATUS,
  type Provider,
  ReasonForm,
  Status,
} from "../common";
import { DocumentList } from "../documents";
import { Decision, Details } from "../provider/organization";
import { ownPrograms } from "../provider/programs";

type Queue = "applied" | "approved" | "suspended" | "rejected";
const QUEUES: readonly (readonly [Queue, string])[] = [
  ["applied", "Новые заявки"],
  ["approved", "В реестре"],
  ["suspended", "Приостановлены"],
  ["rejected", "Отклонены"],
];

export function ProvidersPage() {
  const { config, person } = useSession();
  const [status, setStatus] = useState<Queue>("applied");
  const [municipality, setMunicipality] = useState("");
  const queue = useLoad(
    () =>
      acrossMunicipalities(person, config, municipality, async (place) => {
        const { items } = await everything(async (cursor) => {
          const query = { status, municipality: place, limit: 100, ...(cursor ? { cursor } : {}) };
          const page = await ok(api().GET("/providers", { params: { query } }));
          return { items: page.providers, cursor: page.cursor };
        });
        return items;
      }),
    [status, municipality],
  );
  const providers = [...(queue.data ?? [])].sort((a, b) => a.applied_at.localeCompare(b.applied_at));
  const columns: Column<Provider>[] = [
    {
      label: "Организация",
      head: true,
      cell: (p) => <a href={href.operator("providers", p.provider_id)}>{p.name}</a>,
    },
    { label: "ИНН", cell: (p) => <span class="number">{p.inn}</span> },
    { label: "Вид", cell: (p) => PROVIDER_KIND[p.kind] ?? p.kind },
    { label: "Муниципалитет", cell: (p) => municipalityName(config.municipalities, p.municipality) },
    { label: "Заявка подана", cell: (p) => date(p.applied_at) },
    { label: "Документы", num: true, cell: (p) => p.documents.length },
  ];
  return (
    <section>
      <PageTitle>Поставщики</PageTitle>
      <div class="toolbar">
        <Choice label="Какие поставщики" value={status} options={QUEUES} onChange={setStatus} />
        <MunicipalityFilter value={municipality} onChange={setMunicipality} />
      </div>
      <Failure failure={queue.failure} retry={queue.reload} />
      {!queue.data && queue.loading && <Loading />}
      {queue.data && providers.length === 0 && (
        <p>{status === "applied" ? "Новых заявок нет." : "Таких поставщиков нет."}</p>
      )}
      {providers.length > 0 && (
        <>
          <p class="muted">
            {providers.length} {plural(providers.length, "организация", "организации", "организаций")}
            {status === "applied" && ", сначала поданные раньше"}
          </p>
          <DataTable
            caption={QUEUES.find(([q]) => q === status)?.[1] ?? ""}
            columns={columns}
            rows={providers}
            rowKey={(p) => p.provider_id}
          />
        </>
      )}
    </section>
  );
}

// --- one provider ----------------------------------------------------------------------------------------------------

type Verdict = "approve" | "reject" | "suspend" | "reinstate";

const CHOICES: Record<string, { decision: Verdict; label: string; reason: "required" | "optional"; tone: string }[]> = {
  applied: [
    { decision: "approve", label: "Одобрить заявку", reason: "optional", tone: "button" },
    { decision: "reject", label: "Отклонить заявку", reason: "required", tone: "button button-danger" },
  ],
  approved: [{ decision: "suspend", label: "Приостановить деятельность", reason: "required", tone: "button button-danger" }],
  suspended: [{ decision: "reinstate", label: "Возобновить деятельность", reason: "optional", tone: "button" }],
  rejected: [],
};

function DecisionPanel({ provider, decided }: { provider: Provider; decided: (text: string) => void }) {
  const [chosen, setChosen] = useState<Verdict | null>(null);
  const keyed = useKeyed();
  const choices = CHOICES[provider.status] ?? [];
  const choice = choices.find((c) => c.decision === chosen);
  if (choices.length === 0) return <p class="muted">Отклонённая заявка окончательна.</p>;
  return (
    <>
      {provider.status === "applied" && provider.documents.length === 0 && (
        <p class="warn">Документы ещё не загружены: решение по заявке без них — на ваше усмотрение.</p>
      )}
      {!choice ? (
        <div class="actions">
          {choices.map((c) => (
            <button key={c.decision} type="button" class={c.tone} onClick={() => setChosen(c.decision)}>
              {c.label}
            </button>
          ))}
        </div>
      ) : (
        <ReasonForm
          id={`decision-${choice.decision}`}
          label={choice.reason === "required" ? "Причина (её увидит поставщик)" : "Комментарий (необязательно; его увидит поставщик)"}
          required={choice.reason === "required"}
          submit={choice.label}
          tone={choice.tone as "button"}
          onSubmit={async (reason) => {
            const answer = await keyed((key) =>
              ok(
                api().POST("/providers/{provider_id}/decision", {
                  params: { path: { provider_id: provider.provider_id }, header: { "Idempotency-Key": key } },
                  body: { decision: choice.decision, reason: reason || null },
                }),
              ),
            );
            setChosen(null);
            decided(`${answer.name}: ${PROVIDER_STATUS[answer.status]?.toLowerCase() ?? answer.status}.`);
          }}
          onCancel={() => setChosen(null)}
        />
      )}
    </>
  );
}

function Programs({ inn }: { inn: string }) {
  const programs = useLoad(() => ownPrograms(inn), [inn]);
  const list = (programs.data ?? []).filter((p) => p.status !== "draft");
  return (
    <section class="panel" aria-labelledby="programs-title">
      <h2 id="programs-title">Программы</h2>
      <Failure failure={programs.failure} retry={programs.reload} />
      {!programs.data && programs.loading && <Loading />}
      {programs.data && list.length === 0 && <p class="muted">Опубликованных программ нет.</p>}
      {list.length > 0 && (
        <ul class="plain-list">
          {list.map((p) => (
            <li key={p.program_id}>
              <a href={href.program(p.program_id)}>{p.title}</a> <Status of={p.status} words={PROGRAM_STATUS} />{" "}
              <span class="muted small">{p.price_per_month === 0 ? "бесплатно" : `${money(p.price_per_month)} в месяц`}</span>
            </li>
          ))}
        </ul>
      )}
      {list.some((p) => p.status === "published") && (
        <p>
          <a href={href.operator("programs")}>Сертифицировать программы</a>
        </p>
      )}
    </section>
  );
}

export function ProviderReview({ inn }: { inn: string }) {
  const provider = useLoad(() => ok(api().GET("/providers/{provider_id}", { params: { path: { provider_id: inn } } })), [inn]);
  const [said, setSaid] = useState("");
  const p = provider.data;
  return (
    <section>
      <p class="crumbs">
        <a href={href.operator("providers")}>← Поставщики</a>
      </p>
      <PageTitle>{p ? p.name : `Поставщик ${inn}`}</PageTitle>
      <Failure failure={provider.failure} retry={provider.reload} />
      {!p && provider.loading && <Loading />}
      {said && (
        <p class="notice notice-ok" role="status">
          {said}
        </p>
      )}
      {p && (
        <div class="two-columns">
          <div>
            <section class="panel" aria-labelledby="details-title">
              <h2 id="details-title">Реквизиты</h2>
              <Details provider={p} />
            </section>
            <section class="panel" aria-labelledby="documents-title">
              <h2 id="documents-title">Документы</h2>
              <DocumentList inn={inn} documents={p.documents} />
            </section>
          </div>
          <div>
            <section class="panel" aria-labelledby="decision-title">
              <h2 id="decision-title">Решение</h2>
              <Decision provider={p} reader="operator" />
              <DecisionPanel
                key={p.status}
                provider={p}
                decided={(text) => {
                  setSaid(text);
                  provider.reload();
                }}
              />
            </section>
            {p.status !== "applied" && p.status !== "rejected" && <Programs inn={inn} />}
          </div>
        </div>
      )}
    </section>
  );
}
