/** The price book: history semantics, the file format, and edits while Berth runs. */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import {
  DEFAULT_PRICES,
  PriceBook,
  formatRate,
  parseRate,
  priceBookFile,
} from "../../../src/billing/index.js";

const dir = mkdtempSync(join(tmpdir(), "berth-prices-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("PriceBook", () => {
  it("starts from the published list prices and Spot 70% off", () => {
    const p = PriceBook.defaults().at(Date.now());
    assert.equal(formatRate(p["x86.vcpu"]), "0.04048");
    assert.equal(formatRate(p["x86.gb"]), "0.004445");
    assert.equal(formatRate(p["arm.vcpu"]), "0.03238");
    assert.equal(formatRate(p["arm.gb"]), "0.00356");
    assert.equal(formatRate(p["storage.gb"]), "0.000111");
    assert.equal(p["spot.x86.vcpu"] * 10n, p["x86.vcpu"] * 3n);
    assert.equal(p["spot.arm.gb"] * 10n, p["arm.gb"] * 3n);
  });

  it("applies a change from its effective time on, and only the prices it names", () => {
    const t = Date.UTC(2026, 5, 1);
    const book = PriceBook.defaults()
      .withChange({
        effectiveAt: new Date(t + 7200_000),
        prices: { "spot.x86.vcpu": parseRate("0.02") },
      })
      .withChange({ effectiveAt: new Date(t), prices: { "spot.x86.vcpu": parseRate("0.01") } });
    assert.equal(book.revision, 3);
    assert.equal(formatRate(book.at(t - 1)["spot.x86.vcpu"]), DEFAULT_PRICES["spot.x86.vcpu"]);
    assert.equal(formatRate(book.at(t)["spot.x86.vcpu"]), "0.01");
    assert.equal(formatRate(book.at(t + 7200_000)["spot.x86.vcpu"]), "0.02");
    assert.equal(formatRate(book.at(t + 7200_000)["x86.vcpu"]), "0.04048");
    assert.deepEqual(book.changeTimesWithin(t - 1, t + 7200_000), [t]);
  });

  it("round-trips through its file format", () => {
    const book = PriceBook.defaults().withChange({
      effectiveAt: new Date("2026-06-01T00:00:00Z"),
      prices: { "arm.gb": parseRate("0.004") },
      note: "raise",
    });
    const again = PriceBook.parse(JSON.stringify(book.toJSON()), "x");
    assert.deepEqual(again.toJSON(), book.toJSON());
  });

  it("says what is wrong with a bad file", () => {
    const good = PriceBook.defaults().toJSON() as {
      changes: Array<{ prices: Record<string, string> }>;
    };
    const cases: Array<[unknown, RegExp]> = [
      [{ ...good, format: "other" }, /"format" must be/],
      [{ ...good, revision: 0 }, /"revision"/],
      [{ ...good, changes: [] }, /non-empty/],
      [{ ...good, changes: [{ effectiveAt: "soon", prices: {} }] }, /ISO 8601/],
      [
        { ...good, changes: [{ ...good.changes[0], prices: { "x86.cpu": "1" } }] },
        /unknown price 'x86.cpu'/,
      ],
      [
        {
          ...good,
          changes: [
            { ...good.changes[0], prices: { ...good.changes[0]?.prices, "x86.vcpu": 0.04 } },
          ],
        },
        /decimal string/,
      ],
      [
        {
          ...good,
          changes: [{ effectiveAt: "2026-01-01T00:00:00Z", prices: { "x86.vcpu": "0.04" } }],
        },
        /must set every price/,
      ],
    ];
    for (const [doc, pattern] of cases)
      assert.throws(() => PriceBook.parse(JSON.stringify(doc), "f.json"), pattern);
    assert.throws(() => PriceBook.parse("{", "f.json"), /not valid JSON/);
  });

  it("is written with the defaults on first use, re-read when edited, and keeps the last good version over a bad edit", () => {
    const path = join(dir, "billing", "price-book.json");
    const errors: unknown[] = [];
    const file = priceBookFile(path, (e) => errors.push(e));
    assert.equal(file.current().revision, 1);
    const doc = JSON.parse(readFileSync(path, "utf8")) as {
      revision: number;
      changes: Array<{ prices: Record<string, string> }>;
    };
    assert.equal(doc.changes[0]?.prices["x86.vcpu"], "0.04048");
    doc.revision = 2;
    doc.changes[0].prices["x86.vcpu"] = "0.05";
    writeFileSync(path, JSON.stringify(doc));
    utimesSync(path, new Date(), new Date(Date.now() + 5000));
    assert.equal(formatRate(file.current().at(0)["x86.vcpu"]), "0.05");
    writeFileSync(path, "{ broken");
    utimesSync(path, new Date(), new Date(Date.now() + 10_000));
    assert.equal(formatRate(file.current().at(0)["x86.vcpu"]), "0.05");
    assert.equal(errors.length, 1);
  });
});
