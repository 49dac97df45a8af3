/** Durations on the command line as kubeadm takes them: `24h`, `90m`, `1h30m`, `45s`, `7d`; `0` is none. */
const UNIT_SECONDS: Record<string, number> = { d: 86_400, h: 3_600, m: 60, s: 1 };

/** Whole seconds, or undefined when `text` is not a duration. */
export function parseDuration(text: string): number | undefined {
  if (text === "0") return 0;
  if (!/^(\d+[dhms])+$/.test(text)) return undefined;
  let seconds = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+)([dhms])/g))
    seconds += Number(amount) * (UNIT_SECONDS[unit ?? "s"] ?? 1);
  return Number.isSafeInteger(seconds) ? seconds : undefined;
}
