// The catalog: every filter GET /programs has (municipality, direction, age, free seats only, certified only, text),
// and cursor paging. A page of the API may hold fewer items than asked, even none, and still carry a cursor: the page
// follows it until it has enough to show or the cursor runs out (at most MAX_REQUESTS requests a click).
import { useEffect, useRef, useState } from "preact/hooks";
import { api, type CatalogItem, type CatalogQuery, type Direction, ok } from "../api";
import { Failure, Loading, PageTitle, useAction } from "../components";
import { ages, DIRECTIONS, money, municipalityName, plural, seats } from "../format";
import { href } from "../router";
import { useSession } from "../session";

const PAGE = 12;
const MAX_REQUESTS = 8;

interface Filters {
  q: string;
  municipality: string;
  direction: string;
  age: string;
  free_only: boolean;
  certified_only: boolean;
}

const EMPTY: Filters = { q: "", municipality: "", direction: "", age: "", free_only: false, certified_only: false };
// The filters of this tab's last search: coming back from a program finds them again.
let remembered: Filters = EMPTY;

function query(filters: Filters, cursor: string | null): CatalogQuery {
  const q: CatalogQuery = { limit: PAGE };
  if (filters.q.trim()) q.q = filters.q.trim();
  if (filters.municipality) q.municipality = filters.municipality;
  if (filters.direction) q.direction = filters.direction as Direction;
  if (filters.age) q.age = Number(filters.age);
  if (filters.free_only) q.free_only = true;
  if (filters.certified_only) q.certified_only = true;
  if (cursor) q.cursor = cursor;
  return q;
}

/** Items from ``cursor`` on, following the cursor over short pages until there are PAGE of them or no cursor. */
async function fetchMore(filters: Filters, cursor: string | null): Promise<{ items: CatalogItem[]; cursor: string | null }> {
  const items: CatalogItem[] = [];
  let next = cursor;
  for (let n = 0; n < MAX_REQUESTS; n++) {
    const page = await ok(api().GET("/programs", { params: { query: query(filters, next) } }));
    items.push(...page.items);
    next = page.cursor;
    if (next === null || items.length >= PAGE) break;
  }
  return { items, cursor: next };
}

function Stars({ average, count }: { average: number | null; count: number }) {
  if (!count || average === null) return <span class="muted">Пока нет оценок</span>;
  return (
    <span class="rating">
      <span aria-hidden="true">★</span> {average.toFixed(1).replace(".", ",")}{" "}
      <span class="muted">
        ({count} {plural(count, "оценка", "оценки", "оценок")})
      </span>
    </span>
  );
}

export function ProgramCard({ item }: { item: CatalogItem }) {
  const { config } = useSession();
  return (
    <li class="card program-card">
      <div class="card-top">
        <span class="tag">{DIRECTIONS[item.direction] ?? item.direction}</span>
        {item.status === "certified" && <span class="tag tag-ok">Оплата сертификатом</span>}
      </div>
      <h3>
        <a href={href.program(item.program_id)}>{item.title}</a>
      </h3>
      <p class="provider">{item.provider_name}</p>
      <dl class="facts">
        <div>
          <dt>Возраст</dt>
          <dd>{ages(item.age_min, item.age_max)}</dd>
        </div>
        <div>
          <dt>Стоимость</dt>
          <dd>{item.price_per_month === 0 ? "Бесплатно" : `${money(item.price_per_month)} в месяц`}</dd>
        </div>
        <div>
          <dt>Места</dt>
          <dd class={item.free_seats === 0 ? "warn" : undefined}>{seats(item.free_seats)}</dd>
        </div>
        <div>
          <dt>Где</dt>
          <dd>{municipalityName(config.municipalities, item.municipality)}</dd>
        </div>
      </dl>
      <p class="card-bottom">
        <Stars average={item.rating.average} count={item.rating.count} />
      </p>
    </li>
  );
}

export function CatalogPage() {
  const { config } = useSession();
  const [filters, setFilters] = useState<Filters>(remembered);
  const [items, setItems] = useState<CatalogItem[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const searched = useRef<Filters>(remembered);
  const marked = useRef(false);

  const search = useAction(async (chosen: Filters) => {
    const found = await fetchMore(chosen, null);
    searched.current = chosen;
    remembered = chosen;
    setItems(found.items);
    setCursor(found.cursor);
  });
  const more = useAction(async () => {
    const found = await fetchMore(searched.current, cursor);
    setItems((shown) => [...(shown ?? []), ...found.items]);
    setCursor(found.cursor);
  });

  useEffect(() => {
    void search.run(remembered);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);
  useEffect(() => {
    if (items && !marked.current) {
      marked.current = true;
      performance.mark("catalog-rendered"); // bench/web.py reads it: the catalog's first render
    }
  }, [items]);

  const set = (name: keyof Filters) => (event: Event) => {
    const target = event.currentTarget as HTMLInputElement;
    setFilters({ ...filters, [name]: target.type === "checkbox" ? target.checked : target.value });
  };
  const submit = (event: Event) => {
    event.preventDefault();
    void search.run(filters);
  };
  const reset = () => {
    setFilters(EMPTY);
    void search.run(EMPTY);
  };

  return (
    <section>
      <PageTitle>Кружки и секции</PageTitle>
      <p class="lead">
        Программы дополнительного образования для детей от 5 до 17 лет. Сертифицированные программы можно оплатить
        сертификатом.
      </p>
      <form class="filters" role="search" aria-label="Поиск программ" onSubmit={submit}>
        <div class="field field-wide">
          <label for="f-q">Что ищем</label>
          <input id="f-q" type="search" value={filters.q} onInput={set("q")} placeholder="Например, робототехника" maxLength={200} />
        </div>
        <div class="field">
          <label for="f-municipality">Муниципалитет</label>
          <select id="f-municipality" value={filters.municipality} onChange={set("municipality")}>
            <option value="">Все</option>
            {Object.entries(config.municipalities).map(([id, name]) => (
              <option key={id} value={id}>
                {name}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="f-direction">Направленность</label>
          <select id="f-direction" value={filters.direction} onChange={set("direction")}>
            <option value="">Любая</option>
            {Object.entries(DIRECTIONS).map(([id, name]) => (
              <option key={id} value={id}>
                {name}
              </option>
            ))}
          </select>
        </div>
        <div class="field field-narrow">
          <label for="f-age">Возраст, лет</label>
          <input id="f-age" type="number" inputMode="numeric" min={5} max={17} value={filters.age} onInput={set("age")} />
        </div>
        <div class="checks">
          <label class="check">
            <input type="checkbox" checked={filters.free_only} onChange={set("free_only")} /> Только со свободными местами
          </label>
          <label class="check">
            <input type="checkbox" checked={filters.certified_only} onChange={set("certified_only")} /> Только с оплатой
            сертификатом
          </label>
        </div>
        <div class="actions">
          <button type="submit" class="button" disabled={search.busy} aria-busy={search.busy}>
            Найти
          </button>
          <button type="button" class="button button-secondary" onClick={reset} disabled={search.busy}>
            Сбросить
          </button>
        </div>
      </form>
      <Failure failure={search.failure} retry={() => void search.run(filters)} />
      {items === null && !search.failure && <Loading what="Загружаем программы…" />}
      {items !== null && (
        <div aria-live="polite">
          <h2 class="results-title">
            {items.length === 0 && cursor === null ? "Ничего не нашлось" : `Найдено программ: ${items.length}${cursor ? "+" : ""}`}
          </h2>
          {items.length === 0 && cursor === null && <p>Измените условия поиска или сбросьте фильтры.</p>}
          <ul class="cards" data-testid="catalog">
            {items.map((item) => (
              <ProgramCard key={item.program_id} item={item} />
            ))}
          </ul>
          <Failure failure={more.failure} retry={() => void more.run()} />
          {cursor !== null && (
            <p class="more">
              <button type="button" class="button button-secondary" onClick={() => void more.run()} disabled={more.busy} aria-busy={more.busy}>
                Показать ещё
              </button>
            </p>
          )}
        </div>
      )}
    </section>
  );
}
