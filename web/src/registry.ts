// Registration numbers as the provider registry checks them (chalicelib/domain/provider.py): ИНН of 10 digits for an
// organisation (one check digit) or 12 for an entrepreneur (two); ОГРН of 13 digits (starts with 1 or 5) or ОГРНИП of
// 15 (starts with 3), each with its check digit. The page checks them before sending, to say in Russian which one is
// wrong; the API checks them again.

export type ProviderKind = "organization" | "entrepreneur";

const INN10 = [2, 4, 10, 3, 5, 9, 4, 6, 8];
const INN11 = [7, 2, 4, 10, 3, 5, 9, 4, 6, 8];
const INN12 = [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8];

function check(digits: string, weights: number[]): number {
  return (weights.reduce((sum, weight, i) => sum + weight * Number(digits[i]), 0) % 11) % 10;
}

export function isValidInn(inn: string, kind: ProviderKind): boolean {
  if (kind === "organization") return /^\d{10}$/.test(inn) && check(inn, INN10) === Number(inn[9]);
  return /^\d{12}$/.test(inn) && check(inn, INN11) === Number(inn[10]) && check(inn, INN12) === Number(inn[11]);
}

export function isValidOgrn(ogrn: string, kind: ProviderKind): boolean {
  // 12 and 14 digits stay below 2^53: exact as numbers.
  if (kind === "organization") return /^[15]\d{12}$/.test(ogrn) && (Number(ogrn.slice(0, 12)) % 11) % 10 === Number(ogrn[12]);
  return /^3\d{14}$/.test(ogrn) && (Number(ogrn.slice(0, 14)) % 13) % 10 === Number(ogrn[14]);
}

function randomDigits(n: number): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(n)), (b) => String(b % 10)).join("");
}

/** A fresh organisation's ИНН of the region's tax office 41 (Kamchatka), for the local stage's «новый поставщик». */
export function newInn(region = "41"): string {
  const stem = region + randomDigits(7);
  return stem + String(check(stem, INN10));
}
