// The Navigator: for parents the catalog of programs, a program's page with enrolment, sign-in, my children, the
// certificate cabinet and the contracts; for providers and operators their cabinets (src/staff/, a chunk loaded only
// when one of their pages is opened). A static single-page client of the HTTP API (docs/navigator.md).
import { render } from "preact";
import { useEffect, useMemo, useState } from "preact/hooks";
import { configureApi } from "./api";
import { completeCognitoSignIn, forget, signOutOfCognito, who, type Who } from "./auth";
import { type Config, loadConfig } from "./config";
import { CatalogPage } from "./pages/catalog";
import { CertificatePage } from "./pages/certificate";
import { ChildrenPage } from "./pages/children";
import { ContractsPage } from "./pages/contracts";
import { ProgramPage } from "./pages/program";
import { SignInPage } from "./pages/sign-in";
import { go, href, type Route, type StaffRoute, useRoute } from "./router";
import { type Session, SessionContext } from "./session";

type StaffModule = typeof import("./staff/index");
let staffModule: StaffModule | null = null;

/** The providers' and operators' pages: their chunk is fetched the first time one of them is opened. */
function Staff({ route }: { route: StaffRoute }) {
  const [loaded, setLoaded] = useState<StaffModule | null>(staffModule);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    if (loaded) return;
    import("./staff/index").then(
      (module) => setLoaded((staffModule = module)),
      () => setFailed(true),
    );
  }, [loaded]);
  if (failed) {
    return (
      <section>
        <h1>Раздел не загрузился</h1>
        <div class="notice notice-error" role="alert">
          <p>Не удалось загрузить раздел. Проверьте подключение к интернету и обновите страницу.</p>
          <a class="button button-secondary" href={window.location.href} onClick={() => window.location.reload()}>
            Обновить страницу
          </a>
        </div>
      </section>
    );
  }
  if (!loaded) return <p class="loading" role="status">Загрузка раздела…</p>;
  return <loaded.StaffPage route={route} />;
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case "catalog":
      return <CatalogPage />;
    case "program":
      return <ProgramPage id={route.id} />;
    case "sign-in":
      return <SignInPage next={route.next} />;
    case "children":
      return <ChildrenPage />;
    case "certificate":
      return <CertificatePage id={route.id} />;
    case "contracts":
      return <ContractsPage />;
    case "provider":
    case "operator":
      return <Staff route={route} />;
    default:
      return (
        <section>
          <h1>Страница не найдена</h1>
          <p>
            <a href={href.catalog()}>Перейти в каталог программ</a>
          </p>
        </section>
      );
  }
}

interface NavItem {
  to: string;
  label: string;
  current: (route: Route) => boolean;
}

const on =
  (...pages: Route["page"][]) =>
  (route: Route) =>
    pages.includes(route.page);

/** The menu shows what the signed-in role may do: a parent's pages, a provider's cabinet, an operator's. */
function menu(role: Who["role"] | undefined): NavItem[] {
  if (role === "provider") {
    return (
      [
        ["organization", "Организация"],
        ["programs", "Программы"],
        ["contracts", "Договоры"],
        ["charges", "Списания"],
        ["feedback", "Отзывы"],
      ] as const
    ).map(([section, label]) => ({
      to: href.provider(section),
      label,
      current: (route) => route.page === "provider" && route.section === section,
    }));
  }
  if (role === "operator") {
    return (
      [
        ["providers", "Поставщики"],
        ["programs", "Программы"],
        ["certificates", "Сертификаты"],
        ["periods", "Периоды"],
        ["reports", "Отчёты"],
        ["objections", "Претензии"],
      ] as const
    ).map(([section, label]) => ({
      to: href.operator(section),
      label,
      current: (route) => route.page === "operator" && route.section === section,
    }));
  }
  const items: NavItem[] = [{ to: href.catalog(), label: "Каталог", current: on("catalog", "program") }];
  if (role === "parent") {
    items.push({ to: href.children(), label: "Мои дети", current: on("children", "certificate") });
    items.push({ to: href.contracts(), label: "Договоры", current: on("contracts") });
  }
  return items;
}

function App({ config, initial }: { config: Config; initial: Who | null }) {
  const route = useRoute();
  const [person, setPerson] = useState<Who | null>(initial);
  const session = useMemo<Session>(
    () => ({
      config,
      person,
      signedIn: setPerson,
      signOut: () => {
        setPerson(null);
        if (config.cognito) signOutOfCognito(config.cognito);
        else {
          forget();
          go(href.catalog());
        }
      },
    }),
    [config, person],
  );
  return (
    <SessionContext.Provider value={session}>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById("main")?.focus())}>
        Перейти к содержанию
      </a>
      <header class="site-header">
        <div class="wrap header-row">
          <a class="brand" href={href.catalog()}>
            <span class="brand-mark" aria-hidden="true">
              Н
            </span>
            <span class="brand-text">
              Навигатор
              <small>дополнительного образования</small>
            </span>
          </a>
          <nav aria-label="Основное меню" class={person && person.role !== "parent" ? "site-nav site-nav-staff" : "site-nav"}>
            <ul>
              {menu(person?.role).map((item) => (
                <li key={item.to}>
                  <a href={item.to} aria-current={item.current(route) ? "page" : undefined}>
                    {item.label}
                  </a>
                </li>
              ))}
              <li>
                {person ? (
                  <button type="button" class="link-button" onClick={session.signOut}>
                    Выйти
                  </button>
                ) : (
                  <a href={href.signIn(window.location.hash || href.catalog())} aria-current={route.page === "sign-in" ? "page" : undefined}>
                    Войти
                  </a>
                )}
              </li>
            </ul>
          </nav>
        </div>
      </header>
      <main id="main" tabIndex={-1} class="wrap">
        <Page route={route} />
      </main>
      <footer class="site-footer">
        <div class="wrap">
          <p>
            Персонифицированное финансирование дополнительного образования детей. Сертификат выдаётся ребёнку от 5 до
            18 лет; деньги сертификата идут только на оплату занятий.
          </p>
          {person && <p class="who">Вы вошли: {person.label}</p>}
        </div>
      </footer>
    </SessionContext.Provider>
  );
}

function Broken({ message }: { message: string }) {
  return (
    <main id="main" class="wrap">
      <h1>Навигатор временно недоступен</h1>
      <p class="notice notice-error" role="alert">
        {message}
      </p>
      <p>
        <a class="button" href={window.location.pathname}>
          Обновить страницу
        </a>
      </p>
    </main>
  );
}

async function start(): Promise<void> {
  const root = document.getElementById("app");
  if (!root) return;
  let config: Config;
  try {
    config = await loadConfig();
  } catch {
    render(<Broken message="Не удалось загрузить настройки. Проверьте подключение к интернету." />, root);
    return;
  }
  configureApi(config.apiUrl);
  if (config.cognito) {
    try {
      const back = await completeCognitoSignIn(config.cognito);
      if (back) window.location.hash = back.replace(/^#/, "");
    } catch {
      render(<Broken message="Войти не удалось. Попробуйте ещё раз." />, root);
      return;
    }
  }
  root.textContent = "";
  render(<App config={config} initial={who()} />, root);
}

void start();
