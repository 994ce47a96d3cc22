// Words and numbers as a parent reads them: roubles from kopecks, dates, the API's enums in Russian.

const rub = new Intl.NumberFormat("ru-RU", { style: "currency", currency: "RUB", maximumFractionDigits: 2 });

/** 150000 kopecks → "1 500 ₽" (kopecks shown only when there are some). */
export function money(kopecks: number): string {
  const text = rub.format(kopecks / 100);
  return kopecks % 100 === 0 ? text.replace(/[,.]00(?=\s?₽)/, "") : text;
}

export function date(iso: string): string {
  const day = iso.length === 10 ? new Date(`${iso}T00:00:00`) : new Date(iso);
  return day.toLocaleDateString("ru-RU", { day: "numeric", month: "long", year: "numeric" });
}

const MONTHS = ["январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август", "сентябрь", "октябрь",
  "ноябрь", "декабрь"];

/** "2026-03" → "март 2026". */
export function month(yyyyMm: string): string {
  const [year, number] = yyyyMm.split("-");
  return `${MONTHS[Number(number) - 1] ?? number} ${year}`;
}

export const DIRECTIONS: Record<string, string> = {
  technical: "Техническая",
  natural_science: "Естественнонаучная",
  physical_sports: "Физкультурно-спортивная",
  arts: "Художественная",
  tourism_local_history: "Туристско-краеведческая",
  social_humanitarian: "Социально-гуманитарная",
};

export const CERTIFICATE_STATUS: Record<string, string> = {
  accounting: "Сертификат учёта",
  funded: "Сертификат финансирования",
  frozen: "Заблокирован оператором",
  closed: "Закрыт",
  pending: "На проверке",
};

export const CONTRACT_STATUS: Record<string, string> = {
  requested: "Заявка отправлена",
  active: "Действует",
  declined: "Отклонён поставщиком",
  expired: "Заявка не рассмотрена вовремя",
  cancelled: "Расторгнут",
  ended: "Завершён",
};

export const OBJECTION_STATUS: Record<string, string> = {
  open: "На рассмотрении",
  upheld: "Удовлетворена",
  rejected: "Отклонена",
};

export const ENTRY_KIND: Record<string, string> = {
  credit: "Зачисление номинала",
  expire: "Сгорание остатка",
  hold: "Резерв по договору",
  release: "Возврат резерва",
  charge: "Оплата занятий",
  reversal: "Возврат по претензии",
  reversal_expired: "Возврат по претензии (период завершён)",
  transfer_out: "Перенос на другой сертификат",
  transfer_in: "Перенос с другого сертификата",
};

export function municipalityName(names: Record<string, string>, id: string): string {
  return names[id] ?? id;
}

/** "5–12 лет". */
export function ages(min: number, max: number): string {
  return `${min}–${max} ${plural(max, "год", "года", "лет")}`;
}

export function plural(n: number, one: string, few: string, many: string): string {
  const tens = n % 100;
  const units = n % 10;
  if (tens >= 11 && tens <= 14) return many;
  if (units === 1) return one;
  if (units >= 2 && units <= 4) return few;
  return many;
}

export function seats(n: number): string {
  return n === 0 ? "мест нет" : `${n} ${plural(n, "свободное место", "свободных места", "свободных мест")}`;
}

const REASONS: Record<string, string> = {
  funded: "оформлено финансирование",
  topup: "новый период",
  period_end: "окончание периода",
};

/** A ledger entry's reason in Russian: the system's own words translated, a person's text as written. */
export function reason(text: string): string {
  if (text in REASONS) return REASONS[text] ?? text;
  if (/^merged (into|from) /.test(text)) return "объединение сертификатов";
  return text;
}
