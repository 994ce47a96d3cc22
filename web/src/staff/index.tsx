// The providers' and operators' cabinets: a chunk of its own (main.tsx loads it on the first of their pages), so a
// parent's browser never downloads it. Each area checks the role first; the provider's area reads the provider's
// registry entry once and shares it with its pages.
import { createContext } from "preact";
import { useContext } from "preact/hooks";
import { api, ok, Refusal } from "../api";
import { Failure, Loading, PageTitle, useLoad } from "../components";
import { href, type StaffRoute } from "../router";
import { useSession } from "../session";
import type { Provider } from "./common";
import { CertificatesPage } from "./operator/certificates";
import { ObjectionsPage } from "./operator/objections";
import { PeriodsPage } from "./operator/periods";
import { CertificationPage } from "./operator/programs";
import { ProviderReview, ProvidersPage } from "./operator/providers";
import { ReportsPage } from "./operator/reports";
import { ChargesPage } from "./provider/charges";
import { ContractPage, ContractsPage } from "./provider/contracts";
import { FeedbackPage } from "./provider/feedback";
import { OrganizationPage } from "./provider/organization";
import { ProgramEditPage, ProgramsPage } from "./provider/programs";

const AREA = { provider: "поставщиков", operator: "операторов" } as const;

export function StaffPage({ route }: { route: StaffRoute }) {
  const { person } = useSession();
  if (person?.role !== route.page) {
    return (
      <section class="narrow">
        <PageTitle>Кабинет {AREA[route.page]}</PageTitle>
        {person ? (
          <p>Этот раздел доступен {route.page === "provider" ? "поставщикам услуг" : "операторам"}.</p>
        ) : (
          <p>
            <a class="button" href={href.signIn(window.location.hash)}>
              Войти
            </a>
          </p>
        )}
      </section>
    );
  }
  return route.page === "provider" ? <ProviderArea route={route} /> : <OperatorArea route={route} />;
}

function OperatorArea({ route }: { route: Extract<StaffRoute, { page: "operator" }> }) {
  switch (route.section) {
    case "providers":
      return route.id ? <ProviderReview inn={route.id} /> : <ProvidersPage />;
    case "programs":
      return <CertificationPage />;
    case "certificates":
      return <CertificatesPage />;
    case "periods":
      return <PeriodsPage />;
    case "reports":
      return <ReportsPage />;
    case "objections":
      return <ObjectionsPage />;
  }
}

// --- the provider's own registry entry -------------------------------------------------------------------------------

export interface Own {
  inn: string;
  /** null: this login has not applied yet. */
  provider: Provider | null;
  reload: () => void;
}

const OwnContext = createContext<Own | null>(null);

export function useOwn(): Own {
  const own = useContext(OwnContext);
  if (!own) throw new Error("no provider");
  return own;
}

function ProviderArea({ route }: { route: Extract<StaffRoute, { page: "provider" }> }) {
  const { person } = useSession();
  const inn = person?.providerId ?? "";
  const entry = useLoad(async () => {
    try {
      return await ok(api().GET("/providers/{provider_id}", { params: { path: { provider_id: inn } } }));
    } catch (failure) {
      if (failure instanceof Refusal && failure.code === "provider_not_found") return null; // not applied yet
      throw failure;
    }
  }, [inn]);
  if (entry.failure) {
    return (
      <section>
        <PageTitle>Кабинет поставщика</PageTitle>
        <Failure failure={entry.failure} retry={entry.reload} />
      </section>
    );
  }
  if (entry.data === undefined) return <Loading />;
  const own: Own = { inn, provider: entry.data, reload: entry.reload };
  return (
    <OwnContext.Provider value={own}>
      <ProviderSection route={route} own={own} />
    </OwnContext.Provider>
  );
}

function ProviderSection({ route, own }: { route: Extract<StaffRoute, { page: "provider" }>; own: Own }) {
  if (route.section === "organization") return <OrganizationPage />;
  const status = own.provider?.status;
  if (status !== "approved" && status !== "suspended") {
    return (
      <section class="narrow">
        <PageTitle>Кабинет поставщика</PageTitle>
        <p>
          {status === "applied"
            ? "Заявка организации ещё на рассмотрении у оператора. Программы, договоры и списания станут доступны, когда её одобрят."
            : status === "rejected"
              ? "Заявка организации отклонена: программы и договоры недоступны."
              : "Сначала подайте заявку на включение в реестр поставщиков."}
        </p>
        <p>
          <a href={href.provider("organization")}>Перейти к заявке</a>
        </p>
      </section>
    );
  }
  switch (route.section) {
    case "programs":
      return route.id ? <ProgramEditPage id={route.id} /> : <ProgramsPage />;
    case "contracts":
      return route.id ? <ContractPage id={route.id} /> : <ContractsPage />;
    case "charges":
      return <ChargesPage />;
    case "feedback":
      return <FeedbackPage />;
  }
}
