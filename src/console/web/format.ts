/** Display helpers: AWS JSON times (epoch seconds) and sizes as people read them. */
export function when(seconds: number | undefined | null): string {
  if (seconds === undefined || seconds === null) return "—";
  return new Date(seconds * 1000)
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d+Z$/, "Z");
}

export function whenMs(ms: number | undefined | null): string {
  return ms === undefined || ms === null ? "—" : when(ms / 1000);
}

export function bytes(n: number | undefined): string {
  if (n === undefined) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** The last part of an ARN (a task's id, a service's name). */
export function tail(arn: string | undefined): string {
  return arn?.split("/").pop() ?? "";
}

export function taskDefinitionName(arn: string | undefined): string {
  return arn?.split("/").pop() ?? "";
}

/** A text field of a submitted form ("" when absent or a file). */
export function formText(data: FormData, name: string): string {
  const value = data.get(name);
  return typeof value === "string" ? value : "";
}
