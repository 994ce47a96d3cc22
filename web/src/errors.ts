// What a parent reads when the API refuses: one clear Russian sentence for every code the API's document lists
// (the type makes tsc fail when the document gains a code without a message here; tests/unit/test_web_messages.py
// checks the same from the Python side), and a fallback by status for anything else.
import { type ErrorCode, NetworkError, Refusal } from "./api";

export const MESSAGES: Record<ErrorCode, string> = {
  age_mismatch: "Возраст ребёнка не подходит для этой программы.",
  already_applied: "Эта операция уже выполнена.",
  already_enrolled: "Ребёнок уже записан на эту программу.",
  already_objected: "Претензия по этому списанию уже подана.",
  already_rated: "Вы уже оценили эту программу.",
  capacity_below_seats: "Число мест нельзя сделать меньше числа занятых.",
  certificate_closed: "Сертификат закрыт: операции по нему невозможны.",
  certificate_frozen: "Сертификат заблокирован оператором: операции по нему временно невозможны.",
  certificate_not_found: "Сертификат не найден.",
  concurrent_update: "Данные только что изменились. Попробуйте ещё раз.",
  contract_not_found: "Договор не найден.",
  document_rejected: "Документ не принят: проверьте его тип и размер.",
  duplicate_child: "На этого ребёнка уже выдан сертификат.",
  forbidden: "У вас нет прав на это действие.",
  hold_not_found: "По этому договору нет зарезервированных средств.",
  idempotency_key_required: "Запрос не удалось отправить. Обновите страницу и попробуйте снова.",
  idempotency_key_reused: "Запрос не удалось отправить. Обновите страницу и попробуйте снова.",
  insufficient_funds: "На сертификате недостаточно средств для записи на эту программу.",
  internal_error: "На сервере произошла ошибка. Попробуйте позже.",
  invalid_json: "Запрос не удалось отправить. Обновите страницу и попробуйте снова.",
  invalid_transition: "Это действие недоступно при текущем состоянии.",
  merge_refused: "Сертификаты нельзя объединить.",
  month_charged: "Этот месяц уже оплачен.",
  month_not_chargeable: "Этот месяц нельзя оплатить.",
  no_open_period: "Сейчас нет действующего периода финансирования.",
  no_seats: "Свободных мест в программе не осталось.",
  not_acceptable: "Этот формат выписки недоступен.",
  not_active: "Договор не действует.",
  not_certified: "Программа не сертифицирована: оплатить её сертификатом нельзя.",
  not_charged: "За этот месяц не было списания.",
  not_eligible: "Ребёнок не может получить финансирование в этом периоде по возрасту.",
  not_eligible_to_rate: "Оценить программу может только родитель ребёнка, который её посещал.",
  not_found: "Не найдено.",
  not_funded: "Сертификат не пополнен: оформите финансирование, чтобы оплачивать программы.",
  objection_decided: "По претензии уже принято решение.",
  objection_not_found: "Претензия не найдена.",
  objection_window_closed: "Срок подачи претензии по этому списанию истёк.",
  over_hold: "Сумма больше зарезервированной по договору.",
  over_price: "Сумма больше стоимости месяца по договору.",
  period_exists: "Такой период уже открыт.",
  period_not_found: "Период не найден.",
  period_not_started: "Период ещё не начался.",
  period_overlaps: "Период пересекается с уже открытым.",
  period_superseded: "Начался новый период финансирования.",
  program_not_current: "Программа относится к другому периоду или уже завершилась.",
  program_not_found: "Программа не найдена.",
  provider_exists: "Организация с таким ИНН уже подала заявку.",
  provider_not_approved: "Организация ещё не включена в реестр поставщиков.",
  provider_not_found: "Поставщик не найден.",
  provider_suspended: "Деятельность поставщика приостановлена: новые записи невозможны.",
  quota_exhausted: "Лимит сертификатов финансирования в вашем муниципалитете на этот период исчерпан.",
  request_in_progress: "Запрос ещё обрабатывается. Подождите несколько секунд и повторите.",
  stale_period: "Средства относятся к прошедшему периоду.",
  unauthenticated: "Войдите снова: срок вашего входа истёк.",
  unavailable: "Сервис перегружен. Попробуйте через минуту.",
  validation_error: "Проверьте правильность заполнения полей.",
};

const BY_STATUS: Record<number, string> = {
  400: "Запрос не удалось обработать.",
  401: MESSAGES.unauthenticated,
  403: MESSAGES.forbidden,
  404: MESSAGES.not_found,
  409: "Действие сейчас невозможно.",
  422: MESSAGES.validation_error,
};

export const NETWORK_MESSAGE = "Нет связи с сервером. Проверьте подключение к интернету и повторите.";

/** The Russian sentence for a failure of a call. */
export function describe(failure: unknown): string {
  if (failure instanceof NetworkError) return NETWORK_MESSAGE;
  if (failure instanceof Refusal) {
    const known = (MESSAGES as Record<string, string>)[failure.code];
    if (known) return known;
    return BY_STATUS[failure.status] ?? MESSAGES.internal_error;
  }
  return MESSAGES.internal_error;
}

/** A failure worth a "Повторить" button: the network, a busy server. */
export function retryable(failure: unknown): boolean {
  if (failure instanceof NetworkError) return true;
  return failure instanceof Refusal && (failure.status >= 500 || failure.code === "request_in_progress");
}
