/** Exact money: parsing, the one rounding rule (half away from zero), and presentation. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  MONEY_SCALE,
  QUANTITY_SCALE,
  discountedRate,
  divideRounded,
  formatAmount,
  formatCents,
  formatQuantity,
  formatRate,
  parseAmount,
  parseRate,
} from "../../../src/billing/index.js";

describe("money", () => {
  it("parses prices exactly, to 1e-10 USD, and refuses anything else", () => {
    assert.equal(parseRate("0.04048"), 404_800_000n);
    assert.equal(parseRate("0.0000000001"), 1n);
    assert.equal(formatRate(parseRate("12.5000")), "12.5");
    for (const bad of ["-1", "1e-3", "0.00000000001", "", "abc", "1,5"])
      assert.throws(() => parseRate(bad), /plain decimal/, bad);
  });

  it("rounds half away from zero, only when presenting", () => {
    assert.equal(divideRounded(5n, 10n), 1n);
    assert.equal(divideRounded(4n, 10n), 0n);
    assert.equal(divideRounded(-5n, 10n), -1n);
    assert.equal(divideRounded(15n, 10n), 2n);
    // A third of a cent shows as 0.00, two thirds as 0.01; exactly half a cent rounds up.
    assert.equal(formatCents(MONEY_SCALE / 300n), "0.00");
    assert.equal(formatCents((MONEY_SCALE * 2n) / 300n), "0.01");
    assert.equal(formatCents(MONEY_SCALE / 200n), "0.01");
    assert.equal(formatCents(-MONEY_SCALE / 200n), "-0.01");
    assert.equal(formatCents(MONEY_SCALE * 1234n + MONEY_SCALE / 2n), "1234.50");
  });

  it("writes API amounts to 10 places without trailing zeros", () => {
    assert.equal(formatAmount(0n), "0");
    assert.equal(formatAmount(parseAmount("0.04937")), "0.04937");
    // 1/3 of 1e-10 rounds away; 2/3 rounds up to the next 1e-10.
    assert.equal(formatAmount(QUANTITY_SCALE / 3n), "0");
    assert.equal(formatAmount((QUANTITY_SCALE * 2n) / 3n), "0.0000000001");
    assert.equal(formatAmount(-parseAmount("1.5")), "-1.5");
    assert.equal(formatQuantity(QUANTITY_SCALE * 3n), "3");
    assert.equal(formatQuantity(QUANTITY_SCALE / 4n), "0.25");
  });

  it("derives discounted rates exactly for list prices and whole percents", () => {
    assert.equal(formatRate(discountedRate(parseRate("0.04048"), parseRate("0.2"))), "0.032384");
    assert.equal(formatRate(discountedRate(parseRate("0.04048"), parseRate("0.7"))), "0.012144");
    assert.equal(
      formatRate(discountedRate(parseRate("0.000111"), parseRate("0.33"))),
      "0.00007437",
    );
  });
});
