/** Small pieces every page uses: headings, status badges, tables, errors. */
import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";

export function Page(props: {
  title: string;
  actions?: ComponentChildren;
  children: ComponentChildren;
}) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${props.title} · Berth`;
    // A new page moves focus to its heading, so a screen reader announces where it is.
    heading.current?.focus();
  }, [props.title]);
  return (
    <section class="page" aria-labelledby="page-title">
      <header class="page-head">
        <h1 id="page-title" tabIndex={-1} ref={heading}>
          {props.title}
        </h1>
        {props.actions === undefined ? null : <div class="actions">{props.actions}</div>}
      </header>
      {props.children}
    </section>
  );
}

export function Status(props: { value: string | undefined }) {
  const value = props.value ?? "UNKNOWN";
  return <span class={`status status-${value.toLowerCase()}`}>{value}</span>;
}

export function Failure(props: { error: string | undefined }) {
  return props.error === undefined ? null : (
    <p class="error" role="alert">
      {props.error}
    </p>
  );
}

export function Loading(props: { what: string }) {
  return (
    <p class="muted" role="status">
      Loading {props.what}…
    </p>
  );
}

export function Field(props: { label: string; children: ComponentChildren }) {
  return (
    <div class="field">
      <dt>{props.label}</dt>
      <dd>{props.children}</dd>
    </div>
  );
}

/** A column heading: its text, or its text and class (`num`: a column of figures). */
type Column = string | { label: string; class: string };

/** A data table: its caption (for screen readers unless `shown`), one heading per column, rows. */
export function Table(props: {
  caption: ComponentChildren;
  shown?: boolean;
  columns: Column[];
  testid?: string;
  children: ComponentChildren;
}) {
  return (
    <div class="table-wrap">
      <table data-testid={props.testid}>
        <caption class={props.shown === true ? undefined : "sr-only"}>{props.caption}</caption>
        <thead>
          <tr>
            {props.columns.map((column) =>
              typeof column === "string" ? (
                <th scope="col" key={column}>
                  {column}
                </th>
              ) : (
                <th scope="col" class={column.class} key={column.label}>
                  {column.label}
                </th>
              ),
            )}
          </tr>
        </thead>
        <tbody>{props.children}</tbody>
      </table>
    </div>
  );
}
