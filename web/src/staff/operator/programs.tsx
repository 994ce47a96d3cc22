// Program certification: the published programs of the operator's municipality (the regional operator: the region, or
// one municipality) waiting to be certified, found in the public catalog (every listed program is there with its
// status), and certifying one so certificates may pay for it.
import { useState } from "preact/hooks";
import { api, type CatalogItem, ok } from "../../api";
import { Failure, Loading, PageTitle, useAction, useKeyed, useLoad } from "../../components";
import { ages, DIRECTIONS, money, municipalityName, plural } from "../../format";
import { href } from "../../router";
import { useSession } from "../../session";
import { acrossMunicipalities, everything, MunicipalityFilter } from "../common";

function Candidate({ item, certified }: { item: CatalogItem; certified: (title: string) => void }) {
  const { config } = useSession();
  const keyed = useKeyed();
  const certify = useAction(async () => {
    await keyed((key) =>
      ok(
        api().POST("/programs/{program_id}/certification", {
          params: { path: { program_id: item.program_id }, header: { "Idempotency-Key": key } },
        }),
      ),
    );
    certified(item.title);
  });
  return (
    <li class="card" data-program={item.program_id}>
      <div class="card-top">
        <span class="tag">{DIRECTIONS[item.direction] ?? item.direction}</span>
        <span class="status status-requested">Ждёт сертификации</span>
      </div>
      <h3>
        <a href={href.program(item.program_id)}>{item.title}</a>
      </h3>
      <p class="provider">
        <a href={href.operator("providers", item.provider_id)}>{item.provider_name}</a>
      </p>
      <dl class="facts">
        <div>
          <dt>Цена в месяц</dt>
          <dd>{item.price_per_month === 0 ? "Бесплатно" : money(item.price_per_month)}</dd>
        </div>
        <div>
          <dt>Возраст</dt>
          <dd>{ages(item.age_min, item.age_max)}</dd>
        </div>
        <div>
          <dt>Муниципалитет</dt>
          <dd>{municipalityName(config.municipalities, item.municipality)}</dd>
        </div>
        <div>
          <dt>Расписание</dt>
          <dd>{item.schedule}</dd>
        </div>
      </dl>
      <Failure failure={certify.failure} retry={() => void certify.run()} />
      <div class="actions card-bottom">
        <button type="button" class="button" onClick={() => void certify.run()} disabled={certify.busy} aria-busy={certify.busy}>
          Сертифицировать<span class="visually-hidden"> «{item.title}»</span>
        </button>
      </div>
    </li>
  );
}

export function CertificationPage() {
  const { config, person } = useSession();
  const [municipality, setMunicipality] = useState("");
  const [said, setSaid] = useState<string[]>([]);
  const waiting = useLoad(
    () =>
      acrossMunicipalities(person, config, municipality, async (place) => {
        const { items } = await everything(async (cursor) => {
          const query = { municipality: place, limit: 50, ...(cursor ? { cursor } : {}) };
          const page = await ok(api().GET("/programs", { params: { query } }));
          return { items: page.items, cursor: page.cursor };
        });
        return items.filter((item) => item.status === "published");
      }),
    [municipality],
  );
  const list = waiting.data ?? [];
  return (
    <section>
      <PageTitle>Сертификация программ</PageTitle>
      <p class="lead">
        Опубликованные программы, которые ждут сертификации. Сертифицированную программу можно оплатить
        сертификатом; бесплатные программы принимают записи и до сертификации.
      </p>
      <div class="toolbar">
        <MunicipalityFilter value={municipality} onChange={setMunicipality} />
      </div>
      {said.length > 0 && (
        <p class="notice notice-ok" role="status">
          Сертифицированы: {said.map((title) => `«${title}»`).join(", ")}.
        </p>
      )}
      <Failure failure={waiting.failure} retry={waiting.reload} />
      {!waiting.data && waiting.loading && <Loading />}
      {waiting.data && list.length === 0 && <p>Программ, ждущих сертификации, нет.</p>}
      {list.length > 0 && (
        <>
          <p class="muted">
            {list.length} {plural(list.length, "программа", "программы", "программ")}
          </p>
          <ul class="cards">
            {list.map((item) => (
              <Candidate
                key={item.program_id}
                item={item}
                certified={(title) => {
                  setSaid((shown) => [...shown, title]);
                  waiting.reload();
                }}
              />
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
