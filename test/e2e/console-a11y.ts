/**
 * What a screen reader is given on a console page: Chromium's own accessibility tree (the
 * DevTools protocol's Accessibility.getFullAXTree, the tree assistive technology reads), checked
 * for what a screen-reader user needs to find their way. Each gap names the page, the node's
 * role, its element and the text near it, so a failure says what to fix.
 */
import type { Page } from "playwright-core";

interface AxValue {
  type: string;
  value?: unknown;
}
interface AxNameSource {
  type: string;
  attribute?: string;
  superseded?: boolean;
  value?: AxValue;
  nativeSource?: string;
}
interface AxNode {
  nodeId: string;
  ignored: boolean;
  role?: AxValue;
  name?: AxValue & { sources?: AxNameSource[] };
  properties?: { name: string; value: AxValue }[];
  parentId?: string;
  childIds?: string[];
  backendDOMNodeId?: number;
}

/** Controls a person acts on: each must say what it is. */
const INTERACTIVE = new Set([
  "link",
  "button",
  "textbox",
  "searchbox",
  "combobox",
  "listbox",
  "checkbox",
  "radio",
  "switch",
  "tab",
  "menuitem",
  "menuitemcheckbox",
  "menuitemradio",
  "spinbutton",
  "slider",
  // Chromium's roles for <input type=date|month|week>, datetime-local and time.
  "Date",
  "DateTime",
  "InputTime",
]);
/** Controls that take a value: their name must come from a label, not a placeholder or title. */
const FIELDS = new Set([
  "textbox",
  "searchbox",
  "combobox",
  "listbox",
  "checkbox",
  "radio",
  "switch",
  "spinbutton",
  "slider",
  "Date",
  "DateTime",
  "InputTime",
]);
const TABLES = new Set(["table", "grid", "treegrid"]);
const CELLS = new Set(["row", "cell", "gridcell", "columnheader", "rowheader"]);
/** Pictures (an <img>, an <svg> chart): named, or hidden from the tree (decorative). */
const PICTURES = new Set(["image", "img", "graphics-document", "graphics-object", "canvas"]);

const text = (value: AxValue | undefined): string =>
  typeof value?.value === "string" ? value.value.replace(/\s+/g, " ").trim() : "";

/**
 * The gaps on the page now open in `page`, each a line naming the page (`where`), the role,
 * the element and nearby text.
 */
export async function screenReaderGaps(page: Page, where: string): Promise<string[]> {
  const cdp = await page.context().newCDPSession(page);
  try {
    const { nodes } = (await cdp.send("Accessibility.getFullAXTree")) as { nodes: AxNode[] };
    const byId = new Map(nodes.map((n) => [n.nodeId, n]));
    const role = (n: AxNode): string => text(n.role);
    // The text a sighted reader sees in a subtree (what a screen reader would read out).
    const said = (n: AxNode, depth = 0): string => {
      if (depth > 30) return "";
      if (!n.ignored && (role(n) === "StaticText" || role(n) === "InlineTextBox"))
        return text(n.name);
      return (n.childIds ?? [])
        .map((id) => byId.get(id))
        .filter((c) => c !== undefined)
        .map((c) => said(c, depth + 1))
        .filter((s) => s !== "")
        .join(" ");
    };
    // Text near a node: its own, else the nearest ancestor's that has some.
    const near = (n: AxNode): string => {
      let at: AxNode | undefined = n;
      for (let i = 0; at !== undefined && i < 6; i++) {
        const s = said(at);
        if (s !== "") return s.length > 100 ? `${s.slice(0, 100)}…` : s;
        at = at.parentId === undefined ? undefined : byId.get(at.parentId);
      }
      return "";
    };
    const element = async (n: AxNode): Promise<string> => {
      if (n.backendDOMNodeId === undefined) return "(no element)";
      try {
        const { node } = (await cdp.send("DOM.describeNode", {
          backendNodeId: n.backendDOMNodeId,
        })) as { node: { localName: string; attributes?: string[] } };
        const attributes = node.attributes ?? [];
        const shown: string[] = [];
        for (let i = 0; i + 1 < attributes.length; i += 2) {
          const [key, value] = [attributes[i] ?? "", attributes[i + 1] ?? ""];
          if (["id", "class", "type", "name", "href", "role", "data-testid"].includes(key))
            shown.push(`${key}="${value.length > 60 ? `${value.slice(0, 60)}…` : value}"`);
        }
        return `<${[node.localName, ...shown].join(" ")}>`;
      } catch {
        return "(element gone)";
      }
    };
    const gaps: string[] = [];
    const gap = async (n: AxNode, problem: string): Promise<void> => {
      gaps.push(`${where}: ${role(n)} ${problem}: ${await element(n)} near "${near(n)}"`);
    };
    const shown = nodes.filter((n) => !n.ignored);
    for (const n of shown) {
      const r = role(n);
      const name = text(n.name);
      if (INTERACTIVE.has(r) && name === "") await gap(n, "has no accessible name");
      else if (FIELDS.has(r)) {
        // The name in force: Chromium lists the sources in order of precedence (aria-labelledby,
        // aria-label, a <label>, then title and placeholder) and marks those after it superseded.
        const from = (n.name?.sources ?? []).find(
          (s) => s.superseded !== true && text(s.value) !== "",
        );
        const labelled =
          from !== undefined &&
          (from.type === "relatedElement" ||
            from.attribute === "aria-label" ||
            from.attribute === "aria-labelledby");
        if (!labelled)
          await gap(n, `is named by ${from?.attribute ?? from?.type ?? "nothing"}, not a label`);
      }
      // Anything else the keyboard stops at (a scrolling box with tabindex=0): a screen reader
      // must be told what it is, so it needs a role that takes a name, and the name.
      const focusable = n.properties?.some((p) => p.name === "focusable" && p.value.value === true);
      if (focusable === true && !INTERACTIVE.has(r) && r !== "RootWebArea") {
        if (r === "generic" || r === "none" || r === "presentation" || r === "")
          await gap(n, "is focusable but has no role a screen reader announces");
        else if (name === "") await gap(n, "is focusable but has no accessible name");
      }
      // A row or cell is read as part of its table only if the tree puts it inside one.
      if (CELLS.has(r)) {
        let up = n.parentId === undefined ? undefined : byId.get(n.parentId);
        while (up !== undefined && !TABLES.has(role(up)))
          up = up.parentId === undefined ? undefined : byId.get(up.parentId);
        if (up === undefined) await gap(n, "is outside any table");
      }
      if (TABLES.has(r) && name === "") await gap(n, "has no accessible name (caption or label)");
      if (PICTURES.has(r) && name === "")
        await gap(n, "has no accessible name and is not hidden (aria-hidden) either");
    }
    const mains = shown.filter((n) => role(n) === "main");
    if (mains.length !== 1) gaps.push(`${where}: ${mains.length} main landmarks, not 1`);
    const h1s = shown.filter(
      (n) =>
        role(n) === "heading" &&
        n.properties?.some((p) => p.name === "level" && p.value.value === 1) === true,
    );
    if (h1s.length !== 1) gaps.push(`${where}: ${h1s.length} level-1 headings, not 1`);
    for (const h of h1s) if (text(h.name) === "") await gap(h, "(level 1) is empty");
    return gaps;
  } finally {
    await cdp.detach();
  }
}
